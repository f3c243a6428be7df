import type { CookieOptions, Request, Response } from 'express';

import { Environment } from '../../config/environment';

export const SESSION_COOKIE = 'session';
export const TRUSTED_DEVICE_COOKIE = 'trusted_device';
// Longer than any token we issue (43 base64url characters); bounds the hash work per request.
const MAX_TOKEN_LENGTH = 200;

export interface PresentedToken {
  token: string;
  viaCookie: boolean;
}

/** The session token of a request: the Bearer header wins over the cookie. */
export function presentedSessionToken(request: Request): PresentedToken | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match?.[1];

    return token && token.length <= MAX_TOKEN_LENGTH ? { token, viaCookie: false } : null;
  }
  const cookie = cookieValue(request, SESSION_COOKIE);

  return cookie ? { token: cookie, viaCookie: true } : null;
}

export function cookieValue(request: Request, name: string): string | undefined {
  const value = (request.cookies as Record<string, unknown> | undefined)?.[name];

  return typeof value === 'string' && value !== '' && value.length <= MAX_TOKEN_LENGTH
    ? value
    : undefined;
}

export function cookieOptions(env: Environment, expires: Date): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: env.NODE_ENV === 'production',
    expires,
  };
}

export function clearCookie(response: Response, env: Environment, name: string): void {
  const options: CookieOptions = { ...cookieOptions(env, new Date(0)), expires: undefined };
  response.clearCookie(name, options);
}
