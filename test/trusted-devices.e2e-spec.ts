import { createHash } from 'node:crypto';

import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import {
  DEFAULT_PASSWORD,
  TwoFactorUser,
  activateTwoFactor,
  bearer,
  createClient,
  createTwoFactorUser,
  currentCode,
  login,
  pendingToken,
  sendCode,
  tableText,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { wrongCode } from './support/totp-reference';

const SECOND = 1000;
const DAY = 24 * 60 * 60 * SECOND;
const STEP = 30 * SECOND;
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0';

describe('trusted devices', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  /** Passes the code step with trustDevice; returns the device token and the full session. */
  async function trustThisBrowser(user: TwoFactorUser) {
    const answer = await t.http
      .post('/auth/two-factor')
      .set(bearer(await pendingToken(t, user.user.email)))
      .set('User-Agent', BROWSER)
      .send({ code: currentCode(t, user.secret), trustDevice: true });
    expect(answer.status).toBe(200);
    t.clock.advance(STEP);

    return {
      deviceToken: answer.body.trustedDeviceToken as string,
      session: answer.body.sessionToken as string,
      cookies: answer.headers['set-cookie'] as unknown as string[],
    };
  }

  function loginWithDevice(user: TwoFactorUser, deviceToken: string) {
    return login(t, user.user.email, DEFAULT_PASSWORD, { trustedDeviceToken: deviceToken });
  }

  it('issues a device token with trustDevice, as body field and HttpOnly cookie for 30 days', async () => {
    const user = await createTwoFactorUser(t, { clientId });
    const issuedAt = t.clock.now().getTime();

    const { deviceToken, cookies } = await trustThisBrowser(user);

    expect(Buffer.from(deviceToken, 'base64url').length).toBeGreaterThanOrEqual(16);
    const cookie = cookies.find((c) => c.startsWith('trusted_device='));
    const attributes = (cookie ?? '').split(';').map((part) => part.trim());
    expect(attributes[0]).toBe(`trusted_device=${deviceToken}`);
    expect(attributes).toEqual(
      expect.arrayContaining([
        'HttpOnly',
        'SameSite=Strict',
        'Path=/',
        `Expires=${new Date(issuedAt + 30 * DAY).toUTCString()}`,
      ]),
    );
  });

  it('issues no device token without trustDevice', async () => {
    const user = await createTwoFactorUser(t, { clientId });

    const answer = await sendCode(
      t,
      await pendingToken(t, user.user.email),
      currentCode(t, user.secret),
    );

    expect(answer.body).not.toHaveProperty('trustedDeviceToken');
    const cookies = (answer.headers['set-cookie'] ?? []) as unknown as string[];
    expect(cookies.some((cookie) => cookie.startsWith('trusted_device='))).toBe(false);
  });

  it('stores only the SHA-256 of a device token', async () => {
    const user = await createTwoFactorUser(t, { clientId });

    const { deviceToken } = await trustThisBrowser(user);

    const [device] = await t.dataSource
      .getRepository(TrustedDevice)
      .findBy({ userId: user.user.id });
    expect(device.tokenHash).toBe(createHash('sha256').update(deviceToken).digest('hex'));
    expect(await tableText(t, 'trusted_devices')).not.toContain(deviceToken);
  });

  it('skips the code at login with the token in the body or in the cookie', async () => {
    const user = await createTwoFactorUser(t, { clientId });
    const { deviceToken } = await trustThisBrowser(user);

    const byBody = await loginWithDevice(user, deviceToken);
    const byCookie = await t.http
      .post('/auth/login')
      .set('Cookie', `trusted_device=${deviceToken}`)
      .send({ email: user.user.email, password: DEFAULT_PASSWORD });

    expect(byBody.body.stage).toBe('authenticated');
    expect(byCookie.body.stage).toBe('authenticated');
    expect((await t.http.get('/me').set(bearer(byCookie.body.sessionToken))).status).toBe(200);
  });

  it('still asks the password: a device token with a wrong password is refused', async () => {
    const user = await createTwoFactorUser(t, { clientId });
    const { deviceToken } = await trustThisBrowser(user);

    const answer = await login(t, user.user.email, 'not the password', {
      trustedDeviceToken: deviceToken,
    });

    expect(answer.status).toBe(401);
  });

  it("refuses user B's device token for user A: A still owes the code", async () => {
    const a = await createTwoFactorUser(t, { clientId });
    const b = await createTwoFactorUser(t, { clientId });
    const { deviceToken } = await trustThisBrowser(b);

    const answer = await loginWithDevice(a, deviceToken);

    expect(answer.body.stage).toBe('two-factor-required');
    expect((await loginWithDevice(b, deviceToken)).body.stage).toBe('authenticated');
  });

  it('keeps a device trusted until 30 days after it was added, and not one second longer', async () => {
    const early = await createTwoFactorUser(t, { clientId });
    const late = await createTwoFactorUser(t, { clientId });
    const earlyAddedAt = t.clock.now().getTime();
    const earlyDevice = (await trustThisBrowser(early)).deviceToken;
    const lateAddedAt = t.clock.now().getTime();
    const lateDevice = (await trustThisBrowser(late)).deviceToken;

    t.clock.set(new Date(earlyAddedAt + 30 * DAY - SECOND));
    expect((await loginWithDevice(early, earlyDevice)).body.stage).toBe('authenticated');
    t.clock.set(new Date(lateAddedAt + 30 * DAY + SECOND));

    expect((await loginWithDevice(late, lateDevice)).body.stage).toBe('two-factor-required');
  });

  it('does not extend the 30 days by using the device', async () => {
    const user = await createTwoFactorUser(t, { clientId });
    const addedAt = t.clock.now().getTime();
    const { deviceToken } = await trustThisBrowser(user);

    t.clock.set(new Date(addedAt + 29 * DAY));
    expect((await loginWithDevice(user, deviceToken)).body.stage).toBe('authenticated');
    t.clock.set(new Date(addedAt + 30 * DAY + SECOND));

    expect((await loginWithDevice(user, deviceToken)).body.stage).toBe('two-factor-required');
  });

  it('still skips the code while code entry is locked', async () => {
    const user = await createTwoFactorUser(t, { clientId });
    const { deviceToken } = await trustThisBrowser(user);
    for (let session = 0; session < 2; session++) {
      const pending = await pendingToken(t, user.user.email);
      for (let i = 0; i < 5; i++) {
        await sendCode(t, pending, wrongCode(user.secret, t.clock.now()));
      }
    }
    const locked = await sendCode(
      t,
      await pendingToken(t, user.user.email),
      currentCode(t, user.secret),
    );
    expect(locked.body.error).toBe('two_factor_locked');

    const answer = await loginWithDevice(user, deviceToken);

    expect(answer.body.stage).toBe('authenticated');
  });

  describe('GET /me/trusted-devices', () => {
    it('lists the devices with created, last used, expiry and user agent', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      const addedAt = t.clock.now();
      const { deviceToken, session } = await trustThisBrowser(user);

      const fresh = await t.http.get('/me/trusted-devices').set(bearer(session));
      expect(fresh.body).toEqual([
        {
          id: expect.any(Number),
          createdAt: addedAt.toISOString(),
          lastUsedAt: null,
          expiresAt: new Date(addedAt.getTime() + 30 * DAY).toISOString(),
          userAgent: BROWSER,
        },
      ]);
      const usedAt = t.clock.now();
      await loginWithDevice(user, deviceToken);

      const used = await t.http.get('/me/trusted-devices').set(bearer(session));
      expect(used.body[0].lastUsedAt).toBe(usedAt.toISOString());
      expect(JSON.stringify(used.body)).not.toContain(deviceToken);
    });

    it('leaves out devices past their 30 days, which no longer skip the code', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      await trustThisBrowser(user);
      t.clock.advance(30 * DAY + 60 * SECOND);
      const second = await trustThisBrowser(user);

      const listed = await t.http.get('/me/trusted-devices').set(bearer(second.session));

      expect(listed.status).toBe(200);
      expect(listed.body).toHaveLength(1);
      expect(new Date(listed.body[0].expiresAt).getTime()).toBeGreaterThan(t.clock.now().getTime());
    });

    it("lists only the caller's devices", async () => {
      const a = await createTwoFactorUser(t, { clientId });
      const b = await createTwoFactorUser(t, { clientId });
      await trustThisBrowser(b);

      expect((await t.http.get('/me/trusted-devices').set(bearer(a.token))).body).toEqual([]);
    });
  });

  describe('revocation', () => {
    it('revokes one device: its token no longer skips the code, the others still do', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      const first = await trustThisBrowser(user);
      const second = await trustThisBrowser(user);
      const [device] = (await t.http.get('/me/trusted-devices').set(bearer(first.session))).body;

      const answer = await t.http
        .delete(`/me/trusted-devices/${device.id}`)
        .set(bearer(first.session));

      expect(answer.status).toBe(204);
      expect((await loginWithDevice(user, first.deviceToken)).body.stage).toBe(
        'two-factor-required',
      );
      expect((await loginWithDevice(user, second.deviceToken)).body.stage).toBe('authenticated');
    });

    it("answers 404 not_found for an unknown device and for another user's, and revokes nothing", async () => {
      const a = await createTwoFactorUser(t, { clientId });
      const b = await createTwoFactorUser(t, { clientId });
      const { deviceToken, session } = await trustThisBrowser(b);
      const [bDevice] = (await t.http.get('/me/trusted-devices').set(bearer(session))).body;

      const foreign = await t.http.delete(`/me/trusted-devices/${bDevice.id}`).set(bearer(a.token));
      const unknown = await t.http.delete('/me/trusted-devices/99999999').set(bearer(a.token));

      expect(foreign.status).toBe(404);
      expect(foreign.body.error).toBe('not_found');
      expect(unknown.body).toEqual(foreign.body);
      expect((await loginWithDevice(b, deviceToken)).body.stage).toBe('authenticated');
    });

    it('revokes every device of the user at once', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      const devices = [await trustThisBrowser(user), await trustThisBrowser(user)];

      const answer = await t.http.delete('/me/trusted-devices').set(bearer(devices[0].session));

      expect(answer.status).toBe(204);
      for (const { deviceToken } of devices) {
        expect((await loginWithDevice(user, deviceToken)).body.stage).toBe('two-factor-required');
      }
      expect(
        (await t.http.get('/me/trusted-devices').set(bearer(devices[0].session))).body,
      ).toEqual([]);
    });

    it('revokes every device when the password changes', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      const { deviceToken, session } = await trustThisBrowser(user);

      await t.http
        .post('/me/password')
        .set(bearer(session))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'a brand new long password' });

      const answer = await login(t, user.user.email, 'a brand new long password', {
        trustedDeviceToken: deviceToken,
      });
      expect(answer.body.stage).toBe('two-factor-required');
    });

    it('revokes every device when 2FA is deactivated, for good once it is active again', async () => {
      const user = await createTwoFactorUser(t, { clientId });
      const { deviceToken, session } = await trustThisBrowser(user);

      const off = await t.http
        .delete('/me/two-factor')
        .set(bearer(session))
        .send({ code: currentCode(t, user.secret) });
      expect(off.status).toBe(204);
      expect(
        await t.dataSource.getRepository(TrustedDevice).countBy({ userId: user.user.id }),
      ).toBe(0);
      t.clock.advance(STEP);
      await activateTwoFactor(t, session);

      expect((await loginWithDevice(user, deviceToken)).body.stage).toBe('two-factor-required');
    });
  });
});
