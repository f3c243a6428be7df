import { isUtf8 } from 'node:buffer';
import type { Request } from 'express';

import type { Client } from '../clients/client.entity';
import type { Session } from '../sessions/session.entity';
import type { User } from '../users/user.entity';

export type SessionStage = 'authenticated' | 'two-factor-required' | 'two-factor-setup-required';

/** What the session guard learned about a backoffice caller, attached to the request. */
export interface Principal {
  session: Session;
  user: User;
  homeClient: Client;
  activeClient: Client;
  stage: SessionStage;
  /** The user has confirmed 2FA. */
  twoFactorActive: boolean;
  /** When the active 2FA was confirmed; null without active 2FA. */
  twoFactorActivatedAt: Date | null;
  /** Unused recovery codes of the user. */
  recoveryCodesLeft: number;
  /** The token came from the cookie (writes then need X-Requested-With). */
  viaCookie: boolean;
}

/** A caller of the app channels: password only, scoped to one app. */
export interface AppPrincipal {
  session: Session;
  user: User;
}

export interface AppRequest extends Request {
  principal?: Principal;
  appPrincipal?: AppPrincipal;
}

/** The client address: the socket's, or the proxy's forwarded one when TRUST_PROXY is set. */
export function clientIp(request: Request): string | null {
  return (request.ip ?? request.socket.remoteAddress ?? null)?.slice(0, 64) ?? null;
}

const USER_AGENT_MAX_LENGTH = 255;

/**
 * The User-Agent, as the browser sent it: Node reads header bytes as Latin-1, so UTF-8 bytes
 * (a device name with accents) are decoded as UTF-8 when they are valid UTF-8. At most 255
 * characters, cut between characters, never inside one.
 */
export function userAgent(request: Pick<Request, 'headers'>): string | null {
  const value = request.headers['user-agent'];
  if (typeof value !== 'string') {
    return null;
  }
  const bytes = Buffer.from(value, 'latin1');
  const text = isUtf8(bytes) ? bytes.toString('utf8') : value;

  return [...text].slice(0, USER_AGENT_MAX_LENGTH).join('');
}
