import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
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
