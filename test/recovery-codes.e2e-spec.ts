import { createHash } from 'node:crypto';

import { AuditService } from '../src/audit/audit.service';
import { RecoveryCode } from '../src/two-factor/recovery-code.entity';
import {
  bearer,
  createClient,
  createTwoFactorUser,
  createUser,
  credentialOf,
  currentCode,
  loginToken,
  outboxMails,
  pendingToken,
  sendCode,
  sendRecoveryCode,
  tableText,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { wrongCode } from './support/totp-reference';

const STEP = 30_000;
// Crockford base32: 5 bits a character.
const GROUPED_CODE = /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5})+$/;

describe('recovery codes', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  function renew(token: string, code: unknown) {
    return t.http.post('/me/two-factor/recovery-codes').set(bearer(token)).send({ code });
  }

  it('are shown grouped, each of at least 64 random bits', async () => {
    const { recoveryCodes } = await createTwoFactorUser(t, { clientId });

    expect(recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) {
      expect(code).toMatch(GROUPED_CODE);
      expect(code.replace(/-/g, '').length * 5).toBeGreaterThanOrEqual(64);
    }
    expect(new Set(recoveryCodes).size).toBe(10);
  });

  it('are stored only as SHA-256 hashes', async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });

    const stored = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.id });

    const hashes = recoveryCodes.map((code) =>
      createHash('sha256').update(code.replace(/-/g, '')).digest('hex'),
    );
    expect(stored.map((row) => row.codeHash).sort()).toEqual(hashes.sort());
    const table = await tableText(t, 'recovery_codes');
    for (const code of recoveryCodes) {
      expect(table).not.toContain(code);
      expect(table).not.toContain(code.replace(/-/g, ''));
    }
  });

  it("stand in for the code once: a full session, one fewer left and a 'recovery-code-used' mail", async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    const pending = await pendingToken(t, user.email);

    const answer = await sendRecoveryCode(t, pending, recoveryCodes[3]);

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ stage: 'authenticated', notice: null });
    const me = await t.http.get('/me').set(bearer(answer.body.sessionToken));
    expect(me.body.twoFactor.recoveryCodesLeft).toBe(9);
    expect((await t.http.get('/me').set(bearer(pending))).body.error).toBe('unauthenticated');
    const templates = (await outboxMails(t, user.email)).map((mail) => mail.template);
    expect(templates).toEqual(['two-factor-activated', 'recovery-code-used']);
  });

  it('are read regardless of case, hyphens and spaces', async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    const variants = [
      recoveryCodes[0].toLowerCase(),
      recoveryCodes[1].replace(/-/g, ''),
      recoveryCodes[2].replace(/-/g, ' ').toLowerCase(),
    ];

    for (const variant of variants) {
      const answer = await sendRecoveryCode(t, await pendingToken(t, user.email), variant);
      expect({ variant, status: answer.status }).toEqual({ variant, status: 200 });
    }
  });

  it('are single use: a used one answers like a wrong code and counts as one', async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    expect(
      (await sendRecoveryCode(t, await pendingToken(t, user.email), recoveryCodes[0])).status,
    ).toBe(200);
    const pending = await pendingToken(t, user.email);

    const again = await sendRecoveryCode(t, pending, recoveryCodes[0].toLowerCase());
    const wrong = await sendRecoveryCode(t, pending, 'ZZZZZ-ZZZZZ-ZZZZZ');

    expect(again.status).toBe(401);
    expect(again.body).toEqual(wrong.body);
    expect(again.body.error).toBe('invalid_code');
    expect((await credentialOf(t, user.id))?.failedAttempts).toBe(2);
  });

  it('count like codes when wrong: the fifth ends the pending session, ten lock code entry', async () => {
    const { user, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    const first = await pendingToken(t, user.email);
    for (let i = 0; i < 5; i++) {
      expect((await sendRecoveryCode(t, first, `WRONG-CODE${i}`)).body.error).toBe('invalid_code');
    }
    expect((await sendRecoveryCode(t, first, recoveryCodes[0])).body.error).toBe('unauthenticated');
    const second = await pendingToken(t, user.email);
    for (let i = 0; i < 5; i++) {
      await sendCode(t, second, wrongCode(secret, t.clock.now()));
    }

    const locked = await sendRecoveryCode(t, await pendingToken(t, user.email), recoveryCodes[0]);

    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('two_factor_locked');
    expect(locked.headers['retry-after']).toBe('900');
    const stored = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.id });
    expect(stored.every((code) => code.usedAt === null)).toBe(true);
  });

  it.each([
    ['too long', `${'A'.repeat(65)}`],
    ['with symbols', 'ABCDE_FGHJK!MNPQR'],
    ['not a string', 12345],
    ['null', null],
  ])('refuses a recovery code %s with 400, uncounted', async (_case, recoveryCode) => {
    const { user } = await createTwoFactorUser(t, { clientId });
    const pending = await pendingToken(t, user.email);

    const answer = await sendRecoveryCode(t, pending, recoveryCode);

    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('recoveryCode');
    expect((await credentialOf(t, user.id))?.failedAttempts).toBe(0);
  });

  describe('POST /me/two-factor/recovery-codes', () => {
    it('uses up no code when the renewal fails: the old set stays and the code still works', async () => {
      const { user, token, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });
      const record = AuditService.prototype.record;
      const spy = jest.spyOn(AuditService.prototype, 'record').mockImplementation(function (
        this: AuditService,
        entry,
        manager,
      ) {
        if (entry.event === 'two_factor.recovery_codes_renewed') {
          return Promise.reject(new Error('the audit log is unreachable'));
        }
        return record.call(this, entry, manager);
      });
      const code = currentCode(t, secret);

      let failed;
      try {
        failed = await renew(token, code);
      } finally {
        spy.mockRestore();
      }
      const kept = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.id });
      const again = await renew(token, code);

      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(kept.map((row) => row.codeHash).sort()).toEqual(
        recoveryCodes
          .map((old) => createHash('sha256').update(old.replace(/-/g, '')).digest('hex'))
          .sort(),
      );
      expect(again.status).toBe(200);
    });

    it('leaves no codes behind when a renewal races a deactivation', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });
      // Two unused steps: the renewal's the older, so the deactivation is accepted whichever
      // request runs first.
      t.clock.advance(STEP);

      const [renewed, deactivated] = await Promise.all([
        renew(token, currentCode(t, secret, -1)),
        t.http
          .delete('/me/two-factor')
          .set(bearer(token))
          .send({ code: currentCode(t, secret) }),
      ]);

      expect(deactivated.status).toBe(204);
      expect([200, 401, 409]).toContain(renewed.status);
      expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(0);
    });

    it('replaces the whole set for a valid code: the old codes stop working, the new ones work', async () => {
      const {
        user,
        token,
        secret,
        recoveryCodes: old,
      } = await createTwoFactorUser(t, { clientId });

      const answer = await renew(token, currentCode(t, secret));

      expect(answer.status).toBe(200);
      const fresh = answer.body.recoveryCodes as string[];
      expect(fresh).toHaveLength(10);
      expect(fresh.filter((code) => old.includes(code))).toEqual([]);
      for (const code of fresh) {
        expect(code).toMatch(GROUPED_CODE);
      }
      const pending = await pendingToken(t, user.email);
      expect((await sendRecoveryCode(t, pending, old[0])).body.error).toBe('invalid_code');
      expect((await sendRecoveryCode(t, pending, fresh[0])).status).toBe(200);
      expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(10);
    });

    it('refills a set that was partly used', async () => {
      const { user, token, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });
      await sendRecoveryCode(t, await pendingToken(t, user.email), recoveryCodes[0]);

      await renew(token, currentCode(t, secret));

      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.recoveryCodesLeft).toBe(
        10,
      );
    });

    it('answers 401 invalid_code to a wrong code and keeps the set', async () => {
      const { user, token, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });

      const answer = await renew(token, wrongCode(secret, t.clock.now()));

      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('invalid_code');
      expect(
        (await sendRecoveryCode(t, await pendingToken(t, user.email), recoveryCodes[0])).status,
      ).toBe(200);
    });

    it('takes a TOTP code only, not a recovery code', async () => {
      const { token, recoveryCodes } = await createTwoFactorUser(t, { clientId });

      const answer = await renew(token, recoveryCodes[0]);

      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain('code');
    });

    it('answers 409 two_factor_not_active without 2FA', async () => {
      const user = await createUser(t, { clientId });

      const answer = await renew(await loginToken(t, user.email), '123456');

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('two_factor_not_active');
    });

    it('answers 429 two_factor_locked while code entry is locked', async () => {
      const { user, token, secret } = await createTwoFactorUser(t, { clientId });
      for (let session = 0; session < 2; session++) {
        const pending = await pendingToken(t, user.email);
        for (let i = 0; i < 5; i++) {
          await sendCode(t, pending, wrongCode(secret, t.clock.now()));
        }
      }
      t.clock.advance(STEP);

      const answer = await renew(token, currentCode(t, secret));

      expect(answer.status).toBe(429);
      expect(answer.body.error).toBe('two_factor_locked');
    });
  });
});
