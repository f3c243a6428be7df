import { ApiException } from '../src/common/api.exception';
import { Client } from '../src/clients/client.entity';
import { createClientCommand } from '../src/cli/directory-commands';
import { DAY_MS } from '../src/common/time';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  appToken,
  bearer,
  createClient,
  createUser,
  login,
  loginToken,
  reloadUser,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

describe('small clients', () => {
  let t: TestApp;
  let small: Client;

  beforeAll(async () => {
    t = await createTestApp();
    small = await createClient(t, { kind: 'small' });
  });
  afterAll(() => t.close());

  it('refuses 2FA setup with 409 two_factor_unavailable_for_client', async () => {
    const user = await createUser(t, { clientId: small.id });
    const token = await loginToken(t, user.email);

    const setup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(token))
      .send({ password: DEFAULT_PASSWORD });

    expect(setup.status).toBe(409);
    expect(setup.body.error).toBe('two_factor_unavailable_for_client');
  });

  it('refuses confirm, deactivation and recovery-code renewal the same way', async () => {
    const user = await createUser(t, { clientId: small.id });
    const token = await loginToken(t, user.email);

    const answers = [
      await t.http.post('/me/two-factor/confirm').set(bearer(token)).send({ code: '123456' }),
      await t.http.delete('/me/two-factor').set(bearer(token)).send({ code: '123456' }),
      await t.http
        .post('/me/two-factor/recovery-codes')
        .set(bearer(token))
        .send({ code: '123456' }),
    ];

    for (const answer of answers) {
      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('two_factor_unavailable_for_client');
    }
  });

  it('logs in with the password alone, with no notice, and GET /me shows 2FA unavailable', async () => {
    const user = await createUser(t, { clientId: small.id });

    const answer = await login(t, user.email);

    expect(answer.status).toBe(200);
    expect(answer.body.stage).toBe('authenticated');
    expect(answer.body.notice).toBeNull();
    const me = await t.http.get('/me').set(bearer(answer.body.sessionToken));
    expect(me.body.twoFactor).toEqual({
      active: false,
      activatedAt: null,
      required: false,
      exempt: false,
      deadline: null,
      available: false,
      recoveryCodesLeft: 0,
    });
  });

  it('recommends no 2FA to an exempt user', async () => {
    const user = await createUser(t, { clientId: small.id });
    await t.dataSource.getRepository(User).update({ id: user.id }, { twoFactorExempt: true });

    expect((await login(t, user.email)).body.notice).toBeNull();
  });

  it('never asks a code, even of a user whose 2FA was set up in another client', async () => {
    const standard = await createClient(t);
    const user = await createUser(t, { clientId: standard.id });
    await activateTwoFactor(t, await loginToken(t, user.email));
    await t.dataSource.getRepository(User).update({ id: user.id }, { clientId: small.id });

    const answer = await login(t, user.email);

    expect(answer.body.stage).toBe('authenticated');
    expect(
      (await t.http.get('/me/trusted-devices').set(bearer(answer.body.sessionToken))).status,
    ).toBe(200);
  });

  it('refuses to create a small client that requires 2FA', async () => {
    const attempt = createClient(t, { kind: 'small', requireTwoFactor: true });

    await expect(attempt).rejects.toBeInstanceOf(ApiException);
    await expect(attempt).rejects.toMatchObject({ code: 'two_factor_unavailable_for_client' });
    expect(((await attempt.catch((error: unknown) => error)) as ApiException).getStatus()).toBe(
      409,
    );
    expect(await t.dataSource.getRepository(Client).countBy({ kind: 'small' })).toBe(1);
  });

  it('refuses client:create --kind small --require-two-factor on the command line', async () => {
    const lines: string[] = [];

    const run = createClientCommand.run(
      t.app,
      { name: 'Kiosk', kind: 'small', 'require-two-factor': true },
      (line) => lines.push(line),
    );

    await expect(run).rejects.toThrow(/not offered/);
    expect(lines).toEqual([]);
  });

  it('sets no deadline even when a stored small client says it requires 2FA', async () => {
    const legacy = await createClient(t, { kind: 'small' });
    await t.dataSource.getRepository(Client).update({ id: legacy.id }, { requireTwoFactor: true });
    const user = await createUser(t, { clientId: legacy.id });

    const answer = await login(t, user.email);
    t.clock.advance(11 * DAY_MS);
    const later = await login(t, user.email);

    expect(answer.body.notice).toBeNull();
    expect(later.body.stage).toBe('authenticated');
    expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();
  });

  it('lets small-client users log in to the app channels', async () => {
    const user = await createUser(t, { clientId: small.id });

    const token = await appToken(t, user.email, 'web-check-in');

    expect((await t.http.get('/apps/me').set(bearer(token))).body.app).toBe('web-check-in');
  });

  it('keeps the code step closed: there is no pending session to send a code to', async () => {
    const user = await createUser(t, { clientId: small.id });
    const token = await loginToken(t, user.email);

    const step = await t.http
      .post('/auth/two-factor')
      .set(bearer(token))
      .send({ code: totpCode('JBSWY3DPEHPK3PXP', t.clock.now()) });

    expect(step.status).toBe(403);
    expect(step.body.error).toBe('forbidden');
  });
});
