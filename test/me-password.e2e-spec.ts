import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  auditEvents,
  bearer,
  createClient,
  createTwoFactorUser,
  createUser,
  currentCode,
  login,
  loginToken,
  pendingToken,
  sendCode,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

const NEW_PASSWORD = 'a brand new long password';

describe('POST /me/password', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  function changePassword(token: string, body: Record<string, unknown>) {
    return t.http.post('/me/password').set(bearer(token)).send(body);
  }

  it('changes the password: the new one logs in, the old one no longer does', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);

    const answer = await changePassword(token, {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: NEW_PASSWORD,
    });

    expect(answer.status).toBe(204);
    expect((await login(t, user.email, NEW_PASSWORD)).status).toBe(200);
    expect((await login(t, user.email, DEFAULT_PASSWORD)).status).toBe(401);
    const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: user.id });
    expect(stored.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("ends the user's other sessions, app channels included, and keeps this one", async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    const other = await loginToken(t, user.email);
    const app = await t.http
      .post('/apps/auth/login')
      .send({ email: user.email, password: DEFAULT_PASSWORD, app: 'ticket-app' });
    expect((await t.http.get('/apps/me').set(bearer(app.body.sessionToken))).status).toBe(200);
    const someoneElse = await createUser(t, { clientId });
    const someoneElsesToken = await loginToken(t, someoneElse.email);

    await changePassword(token, { currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD });

    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    expect((await t.http.get('/me').set(bearer(other))).body.error).toBe('unauthenticated');
    const appMe = await t.http.get('/apps/me').set(bearer(app.body.sessionToken));
    expect(appMe.body.error).toBe('unauthenticated');
    expect((await t.http.get('/me').set(bearer(someoneElsesToken))).status).toBe(200);
  });

  it('revokes every trusted device of the user', async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    const trusted = await sendCode(t, await pendingToken(t, user.email), currentCode(t, secret), {
      trustDevice: true,
    });
    const deviceToken = trusted.body.trustedDeviceToken as string;
    t.clock.advance(30_000);
    expect(
      (await login(t, user.email, DEFAULT_PASSWORD, { trustedDeviceToken: deviceToken })).body
        .stage,
    ).toBe('authenticated');

    const change = await changePassword(trusted.body.sessionToken, {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: NEW_PASSWORD,
    });

    expect(change.status).toBe(204);
    expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId: user.id })).toBe(0);
    const next = await login(t, user.email, NEW_PASSWORD, { trustedDeviceToken: deviceToken });
    expect(next.body.stage).toBe('two-factor-required');
  });

  it('refuses a wrong current password with 401 invalid_credentials and changes nothing', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    const other = await loginToken(t, user.email);

    const answer = await changePassword(token, {
      currentPassword: 'not my password',
      newPassword: NEW_PASSWORD,
    });

    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_credentials');
    expect((await login(t, user.email)).status).toBe(200);
    expect((await t.http.get('/me').set(bearer(other))).status).toBe(200);
    // A wrong current password does not end the session that sent it.
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
  });

  it('takes one of two changes sent at once from two sessions, and refuses the other', async () => {
    const user = await createUser(t, { clientId });
    const first = await loginToken(t, user.email);
    const second = await loginToken(t, user.email);
    const passwords = ['first new long password', 'second new long password'];

    const answers = await Promise.all(
      [first, second].map((token, index) =>
        changePassword(token, { currentPassword: DEFAULT_PASSWORD, newPassword: passwords[index] }),
      ),
    );

    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([204, 401]);
    const winner = answers.findIndex((answer) => answer.status === 204);
    expect(answers[1 - winner].body.error).toBe('unauthenticated');
    // The winning session stays signed in; its password is the one that holds.
    expect((await t.http.get('/me').set(bearer([first, second][winner]))).status).toBe(200);
    expect((await t.http.get('/me').set(bearer([first, second][1 - winner]))).status).toBe(401);
    expect((await login(t, user.email, passwords[winner])).status).toBe(200);
    expect((await login(t, user.email, passwords[1 - winner])).status).toBe(401);
    const changes = (await auditEvents(t, 'password.changed')).filter(
      (event) => event.targetUserId === user.id,
    );
    expect(changes).toHaveLength(1);
  });

  it('audits wrong current passwords and the lock they reach, like logins', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);

    for (let attempt = 0; attempt < 10; attempt += 1) {
      const answer = await changePassword(token, {
        currentPassword: 'not my password',
        newPassword: NEW_PASSWORD,
      });
      expect(answer.status).toBe(401);
    }
    const locked = await changePassword(token, {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: NEW_PASSWORD,
    });
    const setup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(token))
      .send({ password: DEFAULT_PASSWORD });

    expect(locked.status).toBe(429);
    expect(setup.status).toBe(429);
    const mine = async (event: string) =>
      (await auditEvents(t, event)).filter((entry) => entry.targetUserId === user.id);
    const failed = await mine('password.recheck_failed');
    expect(failed).toHaveLength(10);
    expect(failed[0]).toMatchObject({
      actorUserId: user.id,
      clientId,
      details: { purpose: 'password_change' },
    });
    expect(await mine('login.locked')).toHaveLength(1);
    expect((await mine('password.recheck_refused_locked')).map((e) => e.details)).toEqual([
      { purpose: 'password_change' },
      { purpose: 'two_factor_setup' },
    ]);
  });

  it.each([
    ['11 characters', 'p'.repeat(11)],
    ['257 characters', 'p'.repeat(257)],
    ['a number', 123456789012345],
    ['null', null],
  ])('refuses a new password of %s with 400 naming newPassword', async (_case, newPassword) => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);

    const answer = await changePassword(token, { currentPassword: DEFAULT_PASSWORD, newPassword });

    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('validation_failed');
    expect(answer.body.message).toContain('newPassword');
    expect((await login(t, user.email)).status).toBe(200);
  });

  it.each([
    ['12 characters', 'p'.repeat(12)],
    ['256 characters', 'p'.repeat(256)],
  ])('accepts a new password of %s', async (_case, newPassword) => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);

    const answer = await changePassword(token, { currentPassword: DEFAULT_PASSWORD, newPassword });

    expect(answer.status).toBe(204);
    expect((await login(t, user.email, newPassword)).status).toBe(200);
  });

  it('answers 400 naming currentPassword when it is missing', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);

    const answer = await changePassword(token, { newPassword: NEW_PASSWORD });

    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('currentPassword');
  });

  it('answers 401 unauthenticated without a session', async () => {
    const answer = await t.http
      .post('/me/password')
      .send({ currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD });

    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('unauthenticated');
  });
});
