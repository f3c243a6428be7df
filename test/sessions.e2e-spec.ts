import { createHash, randomBytes } from 'node:crypto';

import { Session } from '../src/sessions/session.entity';
import {
  DEFAULT_PASSWORD,
  bearer,
  createClient,
  createUser,
  login,
  loginToken,
  sessionsOf,
  tableText,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sessionCookie(setCookie: string[] | undefined): string | undefined {
  return setCookie?.find((cookie) => cookie.startsWith('session='));
}

describe('sessions', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  describe('tokens', () => {
    it('issues opaque tokens of at least 128 random bits', async () => {
      const user = await createUser(t, { clientId });

      const tokens = [await loginToken(t, user.email), await loginToken(t, user.email)];

      for (const token of tokens) {
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
      }
      expect(tokens[0]).not.toBe(tokens[1]);
    });

    it('stores only the SHA-256 of a token, never the token', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      const [session] = await sessionsOf(t, user.id);

      expect(session.tokenHash).toBe(sha256(token));
      expect(await tableText(t, 'sessions')).not.toContain(token);
    });

    it.each([
      ['an unknown token', () => `Bearer ${randomBytes(32).toString('base64url')}`],
      ['a token that is too long', () => `Bearer ${'a'.repeat(5000)}`],
      ['an empty Bearer', () => 'Bearer '],
      ['another scheme', () => 'Basic YWRhOnBhc3N3b3Jk'],
    ])('answers 401 unauthenticated for %s', async (_case, header) => {
      const answer = await t.http.get('/me').set('Authorization', header());

      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({
        statusCode: 401,
        error: 'unauthenticated',
        message: expect.any(String),
      });
    });
  });

  describe('cookie and Bearer', () => {
    it('sets the session cookie HttpOnly, SameSite=Strict, Path=/, until the session ends', async () => {
      const user = await createUser(t, { clientId });

      const answer = await t.http
        .post('/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD });

      const cookie = sessionCookie(answer.headers['set-cookie'] as unknown as string[]);
      expect(cookie).toBeDefined();
      const attributes = (cookie ?? '').split(';').map((part) => part.trim());
      expect(attributes[0]).toBe(`session=${answer.body.sessionToken}`);
      expect(attributes).toEqual(
        expect.arrayContaining([
          'HttpOnly',
          'SameSite=Strict',
          'Path=/',
          `Expires=${new Date(answer.body.expiresAt).toUTCString()}`,
        ]),
      );
      // Not Secure outside production: the test app speaks plain HTTP.
      expect(attributes).not.toContain('Secure');
    });

    it('authenticates by the cookie alone', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      const me = await t.http.get('/me').set('Cookie', `session=${token}`);

      expect(me.status).toBe(200);
      expect(me.body.id).toBe(user.id);
    });

    it('lets the Bearer header win over the cookie when both come', async () => {
      const cookieUser = await createUser(t, { clientId });
      const bearerUser = await createUser(t, { clientId });
      const cookieToken = await loginToken(t, cookieUser.email);
      const bearerToken = await loginToken(t, bearerUser.email);

      const me = await t.http
        .get('/me')
        .set('Cookie', `session=${cookieToken}`)
        .set(bearer(bearerToken));

      expect(me.body.id).toBe(bearerUser.id);
    });

    it('does not fall back to the cookie when the Bearer token is not valid', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      const me = await t.http
        .get('/me')
        .set('Cookie', `session=${token}`)
        .set(bearer(randomBytes(32).toString('base64url')));

      expect(me.status).toBe(401);
    });

    it('answers 403 csrf_header_missing to a cookie-authenticated write without X-Requested-With', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      const refused = await t.http.post('/auth/logout').set('Cookie', `session=${token}`);
      const accepted = await t.http
        .post('/auth/logout')
        .set('Cookie', `session=${token}`)
        .set('X-Requested-With', 'XMLHttpRequest');

      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('csrf_header_missing');
      expect(accepted.status).toBe(204);
    });

    it('asks no X-Requested-With of cookie-authenticated reads nor of Bearer writes', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      expect((await t.http.get('/me').set('Cookie', `session=${token}`)).status).toBe(200);
      expect((await t.http.post('/auth/logout').set(bearer(token))).status).toBe(204);
    });

    it.each([
      ['text/plain', 'email=a@example.com'],
      ['application/x-www-form-urlencoded', 'email=a%40example.com&password=x'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
    ])('answers 415 unsupported_media_type to a write sent as %s', async (type, body) => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      const answers = [
        await t.http.post('/auth/login').set('Content-Type', type).send(body),
        await t.http.post('/me/password').set(bearer(token)).set('Content-Type', type).send(body),
      ];

      for (const answer of answers) {
        expect(answer.status).toBe(415);
        expect(answer.body.error).toBe('unsupported_media_type');
      }
    });
  });

  describe('lifetimes', () => {
    it('ends a session after 30 minutes without a request', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);

      t.clock.advance(30 * MINUTE - 1);
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
      t.clock.advance(30 * MINUTE);

      expect((await t.http.get('/me').set(bearer(token))).body.error).toBe('unauthenticated');
    });

    it('writes the idle mark at most once a minute', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);
      const loggedInAt = t.clock.now();
      const lastSeen = async () =>
        (await t.dataSource.getRepository(Session).findOneByOrFail({ userId: user.id })).lastSeenAt;

      t.clock.advance(59 * SECOND);
      await t.http.get('/me').set(bearer(token));
      expect(await lastSeen()).toEqual(loggedInAt);

      t.clock.advance(2 * SECOND);
      await t.http.get('/me').set(bearer(token));
      const marked = t.clock.now();
      expect(await lastSeen()).toEqual(marked);

      t.clock.advance(30 * SECOND);
      await t.http.get('/me').set(bearer(token));
      expect(await lastSeen()).toEqual(marked);
      // The idle limit counts from the last mark written.
      t.clock.set(new Date(marked.getTime() + 30 * MINUTE - 1));
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    });

    it('ends a session 12 hours after login however active it is', async () => {
      const user = await createUser(t, { clientId });
      const answer = await login(t, user.email);
      const token = answer.body.sessionToken;
      const end = new Date(answer.body.expiresAt).getTime();
      expect(end - t.clock.now().getTime()).toBe(12 * HOUR);

      while (t.clock.now().getTime() + 20 * MINUTE < end) {
        t.clock.advance(20 * MINUTE);
        expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
      }
      t.clock.set(new Date(end - 1));
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
      t.clock.set(new Date(end));

      expect((await t.http.get('/me').set(bearer(token))).body.error).toBe('unauthenticated');
    });
  });
});

describe('sessions in production', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        NODE_ENV: 'production',
        LOGIN_RATE_LIMIT: '100',
        TWO_FACTOR_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      },
    });
  });
  afterAll(() => t.close());

  it('marks the session cookie Secure', async () => {
    const answer = await t.http
      .post('/auth/login')
      .send({ email: 'bootstrap@example.com', password: 'bootstrap password 1' });

    const cookie = sessionCookie(answer.headers['set-cookie'] as unknown as string[]);
    expect(cookie?.split(';').map((part) => part.trim())).toContain('Secure');
  });
});
