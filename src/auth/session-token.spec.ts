import type { Request, Response } from 'express';

import { Environment } from '../../config/environment';
import { clearCookie, cookieOptions, cookieValue, presentedSessionToken } from './session-token';

const TOKEN = 'dG9rZW4tb2YtNDMtY2hhcmFjdGVycy1sb25nLWFhYWFh';

function request(headers: Record<string, string> = {}, cookies: Record<string, unknown> = {}) {
  return { headers, cookies } as unknown as Request;
}

function environment(nodeEnv: Environment['NODE_ENV']): Environment {
  return Object.assign(new Environment(), { NODE_ENV: nodeEnv });
}

describe('presentedSessionToken', () => {
  it('reads a Bearer token', () => {
    expect(presentedSessionToken(request({ authorization: `Bearer ${TOKEN}` }))).toEqual({
      token: TOKEN,
      viaCookie: false,
    });
  });

  it.each(['bearer', 'BEARER'])('takes the scheme %s whatever its case', (scheme) => {
    expect(presentedSessionToken(request({ authorization: `${scheme} ${TOKEN}` }))?.token).toBe(
      TOKEN,
    );
  });

  it('allows spaces around the token', () => {
    expect(presentedSessionToken(request({ authorization: `Bearer   ${TOKEN}  ` }))?.token).toBe(
      TOKEN,
    );
  });

  it('reads the session cookie when there is no Authorization header', () => {
    expect(presentedSessionToken(request({}, { session: TOKEN }))).toEqual({
      token: TOKEN,
      viaCookie: true,
    });
  });

  it('lets the Bearer header win over the cookie', () => {
    const presented = presentedSessionToken(
      request({ authorization: `Bearer ${TOKEN}` }, { session: 'cookie-token' }),
    );

    expect(presented).toEqual({ token: TOKEN, viaCookie: false });
  });

  it.each([
    ['another scheme', `Basic ${TOKEN}`],
    ['a scheme without a token', 'Bearer'],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
    ['a token over 200 characters', `Bearer ${'a'.repeat(201)}`],
  ])('finds no token in %s, and does not fall back to the cookie', (_case, authorization) => {
    expect(presentedSessionToken(request({ authorization }, { session: TOKEN }))).toBeNull();
  });

  it('takes a blank Authorization header for none', () => {
    expect(presentedSessionToken(request({ authorization: '  ' }, { session: TOKEN }))).toEqual({
      token: TOKEN,
      viaCookie: true,
    });
  });

  it('finds nothing without a header or a cookie', () => {
    expect(presentedSessionToken(request())).toBeNull();
    expect(presentedSessionToken({ headers: {} } as Request)).toBeNull();
  });

  it('takes a token of 200 characters', () => {
    const long = 'a'.repeat(200);

    expect(presentedSessionToken(request({ authorization: `Bearer ${long}` }))?.token).toBe(long);
  });
});

describe('cookieValue', () => {
  it.each([
    ['an empty cookie', ''],
    ['a cookie over 200 characters', 'a'.repeat(201)],
    ['a JSON cookie read as an object', { token: TOKEN }],
    ['a number', 42],
  ])('ignores %s', (_case, value) => {
    expect(cookieValue(request({}, { session: value }), 'session')).toBeUndefined();
  });

  it('reads a cookie by its name', () => {
    expect(cookieValue(request({}, { trusted_device: TOKEN }), 'trusted_device')).toBe(TOKEN);
  });
});

describe('cookieOptions', () => {
  it('sets HttpOnly, SameSite=Strict and Path=/ until the given end', () => {
    const expires = new Date('2026-03-02T21:00:00.000Z');

    expect(cookieOptions(environment('development'), expires)).toEqual({
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: false,
      expires,
    });
  });

  it('marks cookies Secure in production only', () => {
    const expires = new Date();

    expect(cookieOptions(environment('production'), expires).secure).toBe(true);
    expect(cookieOptions(environment('test'), expires).secure).toBe(false);
  });
});

describe('clearCookie', () => {
  it('clears the cookie with the attributes it was set with', () => {
    const cleared = jest.fn();

    clearCookie(
      { clearCookie: cleared } as unknown as Response,
      environment('production'),
      'session',
    );

    expect(cleared).toHaveBeenCalledWith('session', {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: true,
      expires: undefined,
    });
  });
});
