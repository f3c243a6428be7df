import * as argon2 from 'argon2';

import { ARGON2_OPTIONS, PasswordHasher } from '../src/users/password-hasher';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  bearer,
  createClient,
  createUser,
  login,
  loginToken,
  uniqueEmail,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

const OWASP_ARGON2ID = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/;
const MINUTE = 60_000;

describe('POST /auth/login', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  it('answers an authenticated session for the right password, valid for 12 hours', async () => {
    const user = await createUser(t, { clientId });

    const answer = await login(t, user.email);

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      sessionToken: expect.any(String),
      stage: 'authenticated',
      expiresAt: new Date(t.clock.now().getTime() + 12 * 60 * MINUTE).toISOString(),
      notice: null,
    });
    const me = await t.http.get('/me').set(bearer(answer.body.sessionToken));
    expect(me.body).toMatchObject({ id: user.id, email: user.email });
  });

  it('finds the account whatever the case and surrounding spaces of the email', async () => {
    const user = await createUser(t, { clientId, email: uniqueEmail('ada') });

    const answer = await login(t, `  ${user.email.toUpperCase()}\t`);

    expect(answer.status).toBe(200);
  });

  it('answers an unknown email and a wrong password alike', async () => {
    const user = await createUser(t, { clientId });

    const wrongPassword = await t.http
      .post('/auth/login')
      .send({ email: user.email, password: 'not the password' });
    const unknownEmail = await t.http
      .post('/auth/login')
      .send({ email: uniqueEmail('nobody'), password: 'not the password' });

    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(wrongPassword.status);
    expect(unknownEmail.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body).toEqual({
      statusCode: 401,
      error: 'invalid_credentials',
      message: expect.any(String),
    });
    expect(wrongPassword.headers['set-cookie']).toBeUndefined();
    expect(unknownEmail.headers['set-cookie']).toBeUndefined();
  });

  it('answers a deactivated account like a wrong password, even with the right one', async () => {
    const user = await createUser(t, { clientId });
    const unknown = await login(t, uniqueEmail('nobody'));
    await t.dataSource.getRepository(User).update({ id: user.id }, { active: false });

    const answer = await login(t, user.email);

    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(unknown.body);
  });

  it('does not apply the 12-character rule: a password set under an older rule still logs in', async () => {
    const user = await createUser(t, { clientId });
    const passwordHash = await argon2.hash('short', ARGON2_OPTIONS);
    await t.dataSource.getRepository(User).update({ id: user.id }, { passwordHash });

    expect((await login(t, user.email, 'short')).status).toBe(200);
    expect((await login(t, user.email, 'shor')).body.error).toBe('invalid_credentials');
  });

  it.each([
    ['no email', { password: DEFAULT_PASSWORD }, 'email'],
    ['an email that is not one', { email: 'not an email', password: DEFAULT_PASSWORD }, 'email'],
    ['no password', { email: 'ada@example.com' }, 'password'],
    ['an empty password', { email: 'ada@example.com', password: '' }, 'password'],
    [
      'a password of 4097 characters',
      { email: 'a@example.com', password: 'p'.repeat(4097) },
      'password',
    ],
  ])('answers 400 naming the field for %s', async (_case, body, field) => {
    const answer = await t.http.post('/auth/login').send(body);

    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('validation_failed');
    expect(answer.body.message).toContain(field);
  });

  it('issues a new token at each login, each its own session', async () => {
    const user = await createUser(t, { clientId });

    const tokens = [
      await loginToken(t, user.email),
      await loginToken(t, user.email),
      await loginToken(t, user.email),
    ];

    expect(new Set(tokens).size).toBe(3);
    for (const token of tokens) {
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    }
  });

  it('issues a new token even when the request carries a live session', async () => {
    const user = await createUser(t, { clientId });
    const first = await loginToken(t, user.email);

    const second = await t.http
      .post('/auth/login')
      .set('Cookie', `session=${first}`)
      .set(bearer(first))
      .send({ email: user.email, password: DEFAULT_PASSWORD });

    expect(second.status).toBe(200);
    expect(second.body.sessionToken).not.toBe(first);
  });

  it('stores passwords as argon2id with the OWASP parameters (19 MiB, 2 passes, 1 lane)', async () => {
    const user = await createUser(t, { clientId });

    const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: user.id });

    expect(stored.passwordHash).toMatch(OWASP_ARGON2ID);
    expect(stored.passwordHash).not.toContain(DEFAULT_PASSWORD);
  });

  it('has created the bootstrap administrator at first start', async () => {
    const answer = await login(t, 'bootstrap@example.com', 'bootstrap password 1');

    expect(answer.status).toBe(200);
    const me = await t.http.get('/me').set(bearer(answer.body.sessionToken));
    expect(me.body.permissions).toEqual(expect.arrayContaining(['admin', 'user-management']));
    const stored = await t.dataSource
      .getRepository(User)
      .findOneByOrFail({ email: 'bootstrap@example.com' });
    expect(stored.passwordHash).toMatch(OWASP_ARGON2ID);
  });
});

describe('POST /auth/logout', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  it('ends the session and clears the cookie', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    const other = await loginToken(t, user.email);

    const answer = await t.http.post('/auth/logout').set(bearer(token));

    expect(answer.status).toBe(204);
    expect(answer.headers['set-cookie']?.[0]).toMatch(/^session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await t.http.get('/me').set(bearer(token))).body.error).toBe('unauthenticated');
    expect((await t.http.get('/me').set(bearer(other))).status).toBe(200);
  });

  it('answers 401 unauthenticated without a session', async () => {
    const answer = await t.http.post('/auth/logout');

    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('unauthenticated');
  });
});

describe('per-email failed-password counter', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  async function fail(email: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      const answer = await login(t, email, `wrong password ${i}`);
      expect(answer.status).toBe(401);
    }
  }

  it('locks password login for the email for 15 minutes after 10 failures in a row', async () => {
    const user = await createUser(t, { clientId });
    await fail(user.email, 10);

    const answer = await t.http
      .post('/auth/login')
      .send({ email: user.email, password: DEFAULT_PASSWORD });

    expect(answer.status).toBe(429);
    expect(answer.body).toEqual({
      statusCode: 429,
      error: 'too_many_attempts',
      message: expect.any(String),
    });
    expect(answer.headers['retry-after']).toBe('900');
  });

  it('does not even check the password while the email is locked', async () => {
    const user = await createUser(t, { clientId });
    await fail(user.email, 10);
    const verify = jest.spyOn(t.get(PasswordHasher), 'verify');

    try {
      expect((await login(t, user.email)).status).toBe(429);
      expect((await login(t, user.email, 'wrong password')).status).toBe(429);
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  it('counts failures for an email that has no account the same way', async () => {
    const email = uniqueEmail('nobody');
    await fail(email, 10);

    const answer = await login(t, email, 'wrong password');

    expect(answer.status).toBe(429);
    expect(answer.body.error).toBe('too_many_attempts');
  });

  it('counts failures on the normalised email, whatever its case and spaces', async () => {
    const user = await createUser(t, { clientId });
    await fail(user.email, 5);
    await fail(` ${user.email.toUpperCase()} `, 5);

    expect((await login(t, user.email)).status).toBe(429);
  });

  it('starts the count again after a successful login', async () => {
    const user = await createUser(t, { clientId });
    await fail(user.email, 9);
    expect((await login(t, user.email)).status).toBe(200);
    await fail(user.email, 9);

    expect((await login(t, user.email)).status).toBe(200);
  });

  it('ends the lock after 15 minutes, with the count started again', async () => {
    const user = await createUser(t, { clientId });
    await fail(user.email, 10);

    t.clock.advance(15 * MINUTE - 1000);
    const almost = await t.http
      .post('/auth/login')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    expect(almost.status).toBe(429);
    expect(almost.headers['retry-after']).toBe('1');

    t.clock.advance(1000);
    await fail(user.email, 9);
    expect((await login(t, user.email)).status).toBe(200);
  });

  it('counts a wrong current password at POST /me/password', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    await fail(user.email, 9);

    const change = await t.http
      .post('/me/password')
      .set(bearer(token))
      .send({ currentPassword: 'wrong password', newPassword: 'another long password' });

    expect(change.status).toBe(401);
    expect(change.body.error).toBe('invalid_credentials');
    expect((await login(t, user.email)).status).toBe(429);
    const locked = await t.http
      .post('/me/password')
      .set(bearer(token))
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another long password' });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('too_many_attempts');
    expect(locked.headers['retry-after']).toBe('900');
  });

  it("counts a wrong password at the 2FA setup's password re-check", async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    await fail(user.email, 9);

    const setup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(token))
      .send({ password: 'wrong password' });

    expect(setup.status).toBe(401);
    expect(setup.body.error).toBe('invalid_credentials');
    expect((await login(t, user.email)).status).toBe(429);
    const locked = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(token))
      .send({ password: DEFAULT_PASSWORD });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('too_many_attempts');
  });

  it('checks no more than 10 of 20 wrong passwords sent at once, and then locks', async () => {
    const user = await createUser(t, { clientId });
    const verify = jest.spyOn(t.get(PasswordHasher), 'verify');

    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => login(t, user.email, `wrong password ${i}`)),
      );

      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([...Array(10).fill(401), ...Array(10).fill(429)]);
      expect(verify).toHaveBeenCalledTimes(10);
    } finally {
      verify.mockRestore();
    }
    expect((await login(t, user.email)).status).toBe(429);
  });

  it('answers logins beyond 10 at once for one email with a short Retry-After, and locks nothing', async () => {
    const user = await createUser(t, { clientId });

    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.http.post('/auth/login').send({ email: user.email, password: DEFAULT_PASSWORD }),
      ),
    );

    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(10);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer.status).toBe(429);
      expect(answer.headers['retry-after']).toBe('1');
    }
    expect((await login(t, user.email)).status).toBe(200);
  });

  it('keeps the lock of one email away from other emails', async () => {
    const locked = await createUser(t, { clientId });
    const other = await createUser(t, { clientId });
    await fail(locked.email, 10);

    expect((await login(t, other.email)).status).toBe(200);
  });

  it('keeps the lock of one email away from an email that differs only in accents', async () => {
    const tag = uniqueEmail('x').split('@')[0];
    const user = await createUser(t, { clientId, email: `zoe-${tag}@example.com` });
    await fail(`zoë-${tag}@example.com`, 10);

    expect((await login(t, user.email)).status).toBe(200);
  });
});

describe('per-IP login throttle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_RATE_LIMIT: '3' } });
  });
  afterAll(() => t.close());

  it('answers 429 too_many_attempts with Retry-After once an address passes LOGIN_RATE_LIMIT', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    for (let i = 0; i < 3; i++) {
      // Forwarded addresses are not believed without TRUST_PROXY: still one socket address.
      const answer = await t.http
        .post('/auth/login')
        .set('X-Forwarded-For', `203.0.113.${i + 1}`)
        .send({ email: uniqueEmail('nobody'), password: 'wrong password' });
      expect(answer.status).toBe(401);
    }

    const answer = await t.http
      .post('/auth/login')
      .set('X-Forwarded-For', '203.0.113.99')
      .send({ email: user.email, password: DEFAULT_PASSWORD });

    expect(answer.status).toBe(429);
    expect(answer.body).toEqual({
      statusCode: 429,
      error: 'too_many_attempts',
      message: expect.any(String),
    });
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('GET /me', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("answers the caller's user, clients, permissions and 2FA state", async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id, name: 'Ada', admin: true });

    const me = await t.http.get('/me').set(bearer(await loginToken(t, user.email)));

    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: user.id,
      email: user.email,
      name: 'Ada',
      homeClientId: client.id,
      activeClientId: client.id,
      permissions: expect.arrayContaining(['admin', 'user-management']),
      stage: 'authenticated',
      twoFactor: {
        active: false,
        activatedAt: null,
        required: false,
        exempt: false,
        deadline: null,
        available: true,
        recoveryCodesLeft: 0,
      },
    });
    expect(JSON.stringify(me.body)).not.toMatch(/password/i);
  });

  it('shows a required user the deadline their first login set', async () => {
    const client = await createClient(t, { requireTwoFactor: true });
    const user = await createUser(t, { clientId: client.id });

    const answer = await login(t, user.email);
    const me = await t.http.get('/me').set(bearer(answer.body.sessionToken));

    const deadline = new Date(t.clock.now().getTime() + 10 * 24 * 60 * MINUTE).toISOString();
    expect(answer.body.notice).toEqual({ kind: 'two-factor-required', deadline, daysLeft: 10 });
    expect(me.body.twoFactor).toMatchObject({ required: true, deadline });
  });

  it('answers 401 unauthenticated without a session', async () => {
    const answer = await t.http.get('/me');

    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('unauthenticated');
  });
});
