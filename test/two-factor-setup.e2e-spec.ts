import jsQR from 'jsqr';
import { randomBytes } from 'node:crypto';
import { PNG } from 'pngjs';

import { AuditEvent } from '../src/audit/audit-event.entity';
import { MailOutboxService } from '../src/notifications/mail-outbox.service';
import { RecoveryCode } from '../src/two-factor/recovery-code.entity';
import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import { SecretCipher } from '../src/two-factor/secret-cipher';
import { TwoFactorCredential } from '../src/two-factor/two-factor-credential.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  bearer,
  createClient,
  createTwoFactorUser,
  createUser,
  credentialOf,
  currentCode,
  login,
  loginToken,
  outboxMails,
  pendingToken,
  sendCode,
  tableText,
  uniqueEmail,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode, wrongCode } from './support/totp-reference';

const MINUTE = 60_000;

interface SetupAnswer {
  secret: string;
  otpauthUrl: string;
  qrCode: string;
  expiresAt: string;
}

function startSetup(t: TestApp, token: string, password = DEFAULT_PASSWORD) {
  return t.http.post('/me/two-factor/setup').set(bearer(token)).send({ password });
}

function confirm(t: TestApp, token: string, code: unknown) {
  return t.http.post('/me/two-factor/confirm').set(bearer(token)).send({ code });
}

function deactivate(t: TestApp, token: string, body: Record<string, unknown>) {
  return t.http.delete('/me/two-factor').set(bearer(token)).send(body);
}

/** Decodes the QR code of a PNG data URL; also measures its quiet zone in modules. */
function readQrCode(dataUrl: string): { text: string; quietZone: number[] } {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  const pixels = new Uint8ClampedArray(png.data);
  const decoded = jsQR(pixels, png.width, png.height);
  if (!decoded) {
    throw new Error('no QR code found in the image');
  }
  let [left, top, right, bottom] = [png.width, png.height, -1, -1];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      if (pixels[(y * png.width + x) * 4] < 128) {
        [left, top] = [Math.min(left, x), Math.min(top, y)];
        [right, bottom] = [Math.max(right, x), Math.max(bottom, y)];
      }
    }
  }
  const modules = 17 + 4 * decoded.version;
  const pixelsPerModule = (right - left + 1) / modules;

  return {
    text: decoded.data,
    quietZone: [left, top, png.width - 1 - right, png.height - 1 - bottom].map(
      (pixels) => pixels / pixelsPerModule,
    ),
  };
}

describe('two-factor setup, confirmation and deactivation', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  async function loggedInUser() {
    const user = await createUser(t, { clientId });

    return { user, token: await loginToken(t, user.email) };
  }

  describe('POST /me/two-factor/setup', () => {
    it('answers a 160-bit base32 secret without padding, the otpauth URI and a QR code, pending 10 minutes', async () => {
      const { token } = await loggedInUser();

      const answer = await startSetup(t, token);

      expect(answer.status).toBe(201);
      const body = answer.body as SetupAnswer;
      expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(body.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
      expect(body.qrCode).toMatch(/^data:image\/png;base64,/);
      expect(body.expiresAt).toBe(new Date(t.clock.now().getTime() + 10 * MINUTE).toISOString());
    });

    it('activates nothing until the setup is confirmed', async () => {
      const { user, token } = await loggedInUser();

      await startSetup(t, token);

      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(false);
      expect((await login(t, user.email)).body.stage).toBe('authenticated');
    });

    it('builds the URI with issuer:email as its label and the issuer repeated as a parameter', async () => {
      const user = await createUser(t, { clientId, email: uniqueEmail('ada+totp') });
      const token = await loginToken(t, user.email);

      const { otpauthUrl, secret } = (await startSetup(t, token)).body as SetupAnswer;

      const [label, query] = otpauthUrl.slice('otpauth://totp/'.length).split('?');
      expect(label).toBe(`Backoffice:${user.email.replace('+', '%2B').replace('@', '%40')}`);
      const parameters = new URLSearchParams(query);
      expect(parameters.get('secret')).toBe(secret);
      expect(parameters.get('issuer')).toBe('Backoffice');
      expect(parameters.get('algorithm')).toBe('SHA1');
      expect(parameters.get('digits')).toBe('6');
      expect(parameters.get('period')).toBe('30');
    });

    it('draws a QR code that reads back as the URI, with a quiet zone of 4 modules', async () => {
      const { token } = await loggedInUser();

      const { otpauthUrl, qrCode } = (await startSetup(t, token)).body as SetupAnswer;
      const read = readQrCode(qrCode);

      expect(read.text).toBe(otpauthUrl);
      expect(read.quietZone).toEqual([4, 4, 4, 4]);
    });

    it('stores the pending secret encrypted, never in base32', async () => {
      const { user, token } = await loggedInUser();

      const { secret } = (await startSetup(t, token)).body as SetupAnswer;

      const credential = await credentialOf(t, user.id);
      expect(credential?.pendingSecretCiphertext).toMatch(/^v1\./);
      expect(await tableText(t, 'two_factor_credentials')).not.toContain(secret);
    });

    it('answers 401 invalid_credentials to a wrong password and starts nothing', async () => {
      const { user, token } = await loggedInUser();

      const answer = await startSetup(t, token, 'not my password');

      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_credentials');
      expect(await credentialOf(t, user.id)).toBeNull();
    });

    it('replaces a pending setup: the first secret no longer confirms', async () => {
      const { token } = await loggedInUser();
      const first = (await startSetup(t, token)).body as SetupAnswer;
      const second = (await startSetup(t, token)).body as SetupAnswer;
      expect(second.secret).not.toBe(first.secret);

      const withFirst = await confirm(t, token, totpCode(first.secret, t.clock.now()));
      expect(withFirst.status).toBe(401);
      expect(withFirst.body.error).toBe('invalid_code');

      const withSecond = await confirm(t, token, totpCode(second.secret, t.clock.now()));
      expect(withSecond.status).toBe(200);
    });

    it('never replaces an active secret: 409 two_factor_already_active', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });
      const before = await credentialOf(t, user.id);

      const answer = await startSetup(t, token);

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('two_factor_already_active');
      expect(await credentialOf(t, user.id)).toEqual(before);
      const full = await sendCode(t, await pendingToken(t, user.email), currentCode(t, secret));
      expect(full.status).toBe(200);
    });

    it('keeps a setup pending for 10 minutes: confirmable just before, 409 no_pending_setup after', async () => {
      const early = await loggedInUser();
      const late = await loggedInUser();
      const startedAt = t.clock.now().getTime();
      const earlySecret = ((await startSetup(t, early.token)).body as SetupAnswer).secret;
      const lateSecret = ((await startSetup(t, late.token)).body as SetupAnswer).secret;

      t.clock.set(new Date(startedAt + 10 * MINUTE - 1000));
      expect((await confirm(t, early.token, currentCode(t, earlySecret))).status).toBe(200);
      t.clock.set(new Date(startedAt + 10 * MINUTE));
      const answer = await confirm(t, late.token, currentCode(t, lateSecret));

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('no_pending_setup');
    });

    it('answers 409 two_factor_unavailable_for_client in a small client', async () => {
      const small = await createClient(t, { kind: 'small' });
      const user = await createUser(t, { clientId: small.id });

      const answer = await startSetup(t, await loginToken(t, user.email));

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('two_factor_unavailable_for_client');
    });
  });

  describe('POST /me/two-factor/confirm', () => {
    it('uses up no code when the confirmation fails: the same code confirms afterwards', async () => {
      const { token } = await loggedInUser();
      const { secret } = (await startSetup(t, token)).body as SetupAnswer;
      const code = currentCode(t, secret);
      const spy = jest
        .spyOn(MailOutboxService.prototype, 'enqueue')
        .mockRejectedValueOnce(new Error('the outbox is unreachable'));

      let failed;
      try {
        failed = await confirm(t, token, code);
      } finally {
        spy.mockRestore();
      }
      const inactive = (await t.http.get('/me').set(bearer(token))).body.twoFactor.active;
      const again = await confirm(t, token, code);

      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(inactive).toBe(false);
      expect(again.status).toBe(200);
    });

    it('activates 2FA and answers 10 distinct recovery codes', async () => {
      const { user, token } = await loggedInUser();
      const { secret } = (await startSetup(t, token)).body as SetupAnswer;

      const answer = await confirm(t, token, currentCode(t, secret));

      expect(answer.status).toBe(200);
      expect(answer.body.recoveryCodes).toHaveLength(10);
      expect(new Set(answer.body.recoveryCodes).size).toBe(10);
      const me = await t.http.get('/me').set(bearer(token));
      expect(me.body.twoFactor).toMatchObject({
        active: true,
        activatedAt: t.clock.now().toISOString(),
        recoveryCodesLeft: 10,
      });
      expect((await login(t, user.email)).body.stage).toBe('two-factor-required');
      expect((await outboxMails(t, user.email)).map((mail) => mail.template)).toEqual([
        'two-factor-activated',
      ]);
    });

    it("ends the user's other sessions, app channels included, and keeps this one", async () => {
      const { user, token } = await loggedInUser();
      const other = await loginToken(t, user.email);
      const app = await t.http
        .post('/apps/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD, app: 'voucher-app' });

      await activateTwoFactor(t, token);

      expect((await t.http.get('/me').set(bearer(token))).body.stage).toBe('authenticated');
      expect((await t.http.get('/me').set(bearer(other))).body.error).toBe('unauthenticated');
      const appMe = await t.http.get('/apps/me').set(bearer(app.body.sessionToken));
      expect(appMe.body.error).toBe('unauthenticated');
    });

    it('answers 401 invalid_code to a wrong code and activates nothing', async () => {
      const { token } = await loggedInUser();
      const { secret } = (await startSetup(t, token)).body as SetupAnswer;

      const answer = await confirm(t, token, wrongCode(secret, t.clock.now()));

      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_code');
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(false);
    });

    it('answers 409 no_pending_setup without a setup', async () => {
      const { token } = await loggedInUser();

      const answer = await confirm(t, token, '123456');

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('no_pending_setup');
    });

    it('refuses a code that is not 6 digits with 400 and does not count it', async () => {
      const { user, token } = await loggedInUser();
      const { secret } = (await startSetup(t, token)).body as SetupAnswer;
      const code = currentCode(t, secret);

      for (const bad of [Number(code), code.slice(1), `${code}0`, `${code.slice(1)}a`, null]) {
        const answer = await confirm(t, token, bad);
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('validation_failed');
        expect(answer.body.message).toContain('code');
      }

      expect((await credentialOf(t, user.id))?.failedAttempts).toBe(0);
      expect((await confirm(t, token, code)).status).toBe(200);
    });
  });

  describe('DELETE /me/two-factor', () => {
    async function userWithEverything() {
      const activated = await createTwoFactorUser(t, { clientId });
      const trusted = await sendCode(
        t,
        await pendingToken(t, activated.user.email),
        currentCode(t, activated.secret),
        { trustDevice: true },
      );
      t.clock.advance(30_000);
      const pending = await pendingToken(t, activated.user.email);
      const other = trusted.body.sessionToken as string;

      return { ...activated, pending, other, deviceToken: trusted.body.trustedDeviceToken };
    }

    it.each(['code', 'recoveryCode'] as const)(
      'turns 2FA off with a valid %s: devices, recovery codes, other and pending sessions go',
      async (proof) => {
        const { user, token, secret, recoveryCodes, pending, other, deviceToken } =
          await userWithEverything();
        const body =
          proof === 'code' ? { code: currentCode(t, secret) } : { recoveryCode: recoveryCodes[0] };

        const answer = await deactivate(t, token, body);

        expect(answer.status).toBe(204);
        const me = await t.http.get('/me').set(bearer(token));
        expect(me.body.twoFactor).toMatchObject({ active: false, recoveryCodesLeft: 0 });
        expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(0);
        expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId: user.id })).toBe(
          0,
        );
        expect((await t.http.get('/me').set(bearer(other))).body.error).toBe('unauthenticated');
        expect((await sendCode(t, pending, currentCode(t, secret))).body.error).toBe(
          'unauthenticated',
        );
        const templates = (await outboxMails(t, user.email)).map((mail) => mail.template);
        // One mail for one action: the deactivation mail says every code is gone, so a code
        // that turned 2FA off sends no 'recovery-code-used' asking to renew the set.
        expect(templates.filter((template) => template !== 'two-factor-activated')).toEqual([
          'two-factor-deactivated',
        ]);
        const next = await login(t, user.email, DEFAULT_PASSWORD, {
          trustedDeviceToken: deviceToken,
        });
        expect(next.body.stage).toBe('authenticated');
        expect(await credentialOf(t, user.id)).toMatchObject({ secretCiphertext: null });
      },
    );

    it('answers 401 invalid_code to a wrong code and keeps 2FA on', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });

      const answer = await deactivate(t, token, { code: wrongCode(secret, t.clock.now()) });

      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_code');
      expect((await login(t, user.email)).body.stage).toBe('two-factor-required');
    });

    it('answers 400 to a body with neither or both proofs', async () => {
      const { token, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });

      const neither = await deactivate(t, token, {});
      const both = await deactivate(t, token, {
        code: currentCode(t, secret),
        recoveryCode: recoveryCodes[0],
      });

      expect(neither.status).toBe(400);
      expect(both.status).toBe(400);
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(true);
    });

    it('answers 409 two_factor_not_active when 2FA is off', async () => {
      const { token } = await loggedInUser();

      const answer = await deactivate(t, token, { code: '123456' });

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('two_factor_not_active');
    });

    it('uses up no code when turning 2FA off fails: the code and 2FA stay', async () => {
      const { user, token, recoveryCodes } = await createTwoFactorUser(t, { clientId });
      const spy = jest
        .spyOn(MailOutboxService.prototype, 'enqueue')
        .mockRejectedValueOnce(new Error('the outbox is unreachable'));

      let answer;
      try {
        answer = await deactivate(t, token, { recoveryCode: recoveryCodes[0] });
      } finally {
        spy.mockRestore();
      }

      expect(answer.status).toBeGreaterThanOrEqual(500);
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor).toMatchObject({
        active: true,
        recoveryCodesLeft: 10,
      });
      const recovered = await t.http
        .post('/auth/recovery')
        .set(bearer(await pendingToken(t, user.email)))
        .send({ recoveryCode: recoveryCodes[0] });
      expect(recovered.status).toBe(200);
    });

    it('turns 2FA off once when a code and a recovery code race to do it', async () => {
      const { user, token, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });

      const answers = await Promise.all([
        deactivate(t, token, { code: currentCode(t, secret) }),
        deactivate(t, token, { recoveryCode: recoveryCodes[0] }),
      ]);

      expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
      const mails = (await outboxMails(t, user.email)).map((mail) => mail.template);
      expect(mails.filter((template) => template === 'two-factor-deactivated')).toHaveLength(1);
      expect(
        await t.dataSource
          .getRepository(AuditEvent)
          .countBy({ event: 'two_factor.deactivated', targetUserId: user.id }),
      ).toBe(1);
    });

    it('lets the user activate 2FA again afterwards, with a new secret', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });
      await deactivate(t, token, { code: currentCode(t, secret) });
      t.clock.advance(30_000);

      const again = await activateTwoFactor(t, token);

      expect(again.secret).not.toBe(secret);
      expect((await login(t, user.email)).body.stage).toBe('two-factor-required');
    });
  });

  describe('secrets at rest', () => {
    async function tamper(
      userId: number,
      column: 'secretCiphertext',
      change: (text: string) => string,
    ) {
      const repository = t.dataSource.getRepository(TwoFactorCredential);
      const credential = await repository.findOneByOrFail({ userId });
      await repository.update({ userId }, { [column]: change(credential[column] ?? '') });
    }

    function flipLastCharacter(text: string): string {
      return `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
    }

    it('stores the active secret encrypted, never in base32', async () => {
      const { user, secret } = await createTwoFactorUser(t, { clientId });

      const credential = await credentialOf(t, user.id);

      expect(credential?.secretCiphertext).toMatch(/^v1\./);
      const stored = await tableText(t, 'two_factor_credentials');
      expect(stored).not.toContain(secret);
      expect(stored.toLowerCase()).not.toContain(secret.toLowerCase());
    });

    it('fails closed on a tampered ciphertext: 503 two_factor_unavailable, no code accepted', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });
      const pending = await pendingToken(t, user.email);
      await tamper(user.id, 'secretCiphertext', flipLastCharacter);

      const answers = [
        await sendCode(t, pending, currentCode(t, secret)),
        await deactivate(t, token, { code: currentCode(t, secret) }),
        await t.http
          .post('/me/two-factor/recovery-codes')
          .set(bearer(token))
          .send({ code: currentCode(t, secret) }),
      ];

      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.body).toEqual({
          statusCode: 503,
          error: 'two_factor_unavailable',
          message: expect.any(String),
        });
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect((await t.http.get('/me').set(bearer(pending))).body.error).toBe('two_factor_required');
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(true);
    });

    it('fails closed on a secret that decrypts to something not ours: 503, never 500', async () => {
      const { user, secret } = await createTwoFactorUser(t, { clientId });
      const pending = await pendingToken(t, user.email);
      const cipher = t.get(SecretCipher);
      const repository = t.dataSource.getRepository(TwoFactorCredential);
      await repository.update(
        { userId: user.id },
        { secretCiphertext: cipher.encrypt('not-base32!', user.id) },
      );

      const answer = await sendCode(t, pending, currentCode(t, secret));

      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('two_factor_unavailable');
    });

    it('fails closed on a tampered pending secret at confirmation', async () => {
      const { user, token } = await loggedInUser();
      const { secret } = (await startSetup(t, token)).body as SetupAnswer;
      const repository = t.dataSource.getRepository(TwoFactorCredential);
      const credential = await repository.findOneByOrFail({ userId: user.id });
      await repository.update(
        { userId: user.id },
        { pendingSecretCiphertext: flipLastCharacter(credential.pendingSecretCiphertext ?? '') },
      );

      const answer = await confirm(t, token, currentCode(t, secret));

      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('two_factor_unavailable');
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(false);
    });

    it("refuses another user's ciphertext copied into a row: it is bound to its user", async () => {
      const victim = await createTwoFactorUser(t, { clientId });
      const attacker = await createTwoFactorUser(t, { clientId });
      const attackers = await credentialOf(t, attacker.user.id);
      await t.dataSource
        .getRepository(TwoFactorCredential)
        .update({ userId: victim.user.id }, { secretCiphertext: attackers?.secretCiphertext });

      const answer = await sendCode(
        t,
        await pendingToken(t, victim.user.email),
        currentCode(t, attacker.secret),
      );

      expect(answer.status).toBe(503);
      expect(answer.body.error).toBe('two_factor_unavailable');
    });
  });
});

describe('two-factor secrets across key rotation', () => {
  const oldKey = `old:${randomBytes(32).toString('base64')}`;
  const newKey = `new:${randomBytes(32).toString('base64')}`;
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { TWO_FACTOR_ENCRYPTION_KEYS: oldKey } });
  });
  afterAll(() => t.close());

  it('still decrypts under the old key listed second, encrypts under the new one, and fails closed once the old key is gone', async () => {
    const client = await createClient(t);
    const before = await createTwoFactorUser(t, { clientId: client.id });
    expect((await credentialOf(t, before.user.id))?.secretCiphertext).toMatch(/^v1\.old\./);

    t = await t.restart({ TWO_FACTOR_ENCRYPTION_KEYS: `${newKey},${oldKey}` });
    const withOldKey = await sendCode(
      t,
      await pendingToken(t, before.user.email),
      currentCode(t, before.secret),
    );
    expect(withOldKey.status).toBe(200);
    const after = await createTwoFactorUser(t, { clientId: client.id });
    expect((await credentialOf(t, after.user.id))?.secretCiphertext).toMatch(/^v1\.new\./);

    t = await t.restart({ TWO_FACTOR_ENCRYPTION_KEYS: newKey });
    t.clock.advance(30_000);
    const withoutOldKey = await sendCode(
      t,
      await pendingToken(t, before.user.email),
      currentCode(t, before.secret),
    );
    expect(withoutOldKey.status).toBe(503);
    expect(withoutOldKey.body.error).toBe('two_factor_unavailable');
    const withNewKey = await sendCode(
      t,
      await pendingToken(t, after.user.email),
      currentCode(t, after.secret),
    );
    expect(withNewKey.status).toBe(200);
  });
});

describe('two-factor URIs for an issuer with colons and spaces', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { TOTP_ISSUER: 'Acme: Back Office' } });
  });
  afterAll(() => t.close());

  it('removes the colons and percent-encodes spaces as %20 in the label and the issuer parameter', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });

    const answer = await startSetup(t, await loginToken(t, user.email));

    const { otpauthUrl } = answer.body as SetupAnswer;
    const [label, query] = otpauthUrl.slice('otpauth://totp/'.length).split('?');
    expect(label).toBe(`Acme%20Back%20Office:${encodeURIComponent(user.email)}`);
    expect(label.split(':')).toHaveLength(2);
    expect(query).toContain('issuer=Acme%20Back%20Office');
    expect(new URLSearchParams(query).get('issuer')).toBe('Acme Back Office');
    expect(otpauthUrl).not.toContain('+');
    expect(readQrCode(answer.body.qrCode).text).toBe(otpauthUrl);
  });
});
