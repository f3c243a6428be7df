import {
  createClient,
  createUser,
  activateTwoFactor,
  bearer,
  login,
  loginToken,
  loginWithCode,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('logs in, sets up 2FA and logs in with a code', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const token = await loginToken(t, user.email);
    const me = await t.http.get('/me').set(bearer(token));
    expect(me.status).toBe(200);
    const { secret } = await activateTwoFactor(t, token);
    const pending = await login(t, user.email);
    expect(pending.body.stage).toBe('two-factor-required');
    const refused = await t.http.get('/me').set(bearer(pending.body.sessionToken));
    expect(refused.body.error).toBe('two_factor_required');
    const full = await loginWithCode(t, user.email, secret);
    expect((await t.http.get('/me').set(bearer(full))).body.twoFactor.active).toBe(true);
  });
});
