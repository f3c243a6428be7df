import { createHash } from 'node:crypto';

import { Session } from '../src/sessions/session.entity';
import {
  TwoFactorUser,
  bearer,
  createClient,
  createTwoFactorUser,
  credentialOf,
  currentCode,
  login,
  outboxMails,
  pendingToken,
  sendCode,
  sendRecoveryCode,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode, wrongCode } from './support/totp-reference';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const STEP = 30 * SECOND;

const ARABIC_INDIC = '٠١٢٣٤٥٦٧٨٩';
const FULLWIDTH = '０１２３４５６７８９';

function transliterate(code: string, digits: string): string {
  return [...code].map((digit) => [...digits][Number(digit)]).join('');
}

async function sessionFailures(t: TestApp, token: string): Promise<number | undefined> {
  const tokenHash = createHash('sha256').update(token).digest('hex');
  const session = await t.dataSource.getRepository(Session).findOneBy({ tokenHash });

  return session?.failedCodeAttempts;
}

describe('login with a second factor', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  function twoFactorUser(): Promise<TwoFactorUser> {
    return createTwoFactorUser(t, { clientId });
  }

  async function failCodes(user: TwoFactorUser, pending: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const answer = await sendCode(t, pending, wrongCode(user.secret, t.clock.now()));
      expect(answer.body.error).toBe('invalid_code');
    }
  }

  /** Ten wrong codes in a row, over two pending sessions (the fifth ends each). */
  async function lockCodeEntry(user: TwoFactorUser): Promise<void> {
    await failCodes(user, await pendingToken(t, user.user.email), 5);
    await failCodes(user, await pendingToken(t, user.user.email), 5);
  }

  describe('the code step', () => {
    it('answers a pending session of 5 minutes to the password of a user with 2FA', async () => {
      const { user } = await twoFactorUser();

      const answer = await login(t, user.email);

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        sessionToken: expect.any(String),
        stage: 'two-factor-required',
        expiresAt: new Date(t.clock.now().getTime() + 5 * MINUTE).toISOString(),
        notice: null,
      });
    });

    it('issues a new full session for a valid code; the pending token dies', async () => {
      const { user, secret } = await twoFactorUser();
      const pending = await pendingToken(t, user.email);

      const answer = await sendCode(t, pending, currentCode(t, secret));

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ stage: 'authenticated', notice: null });
      expect(answer.body.sessionToken).not.toBe(pending);
      expect(answer.body).not.toHaveProperty('trustedDeviceToken');
      expect(answer.headers['set-cookie']?.[0]).toContain(`session=${answer.body.sessionToken}`);
      expect((await t.http.get('/me').set(bearer(answer.body.sessionToken))).status).toBe(200);
      expect((await t.http.get('/me').set(bearer(pending))).body.error).toBe('unauthenticated');
    });

    it('accepts the code with U+0020 spaces between the digits', async () => {
      const { user, secret } = await twoFactorUser();
      const code = currentCode(t, secret);

      const answer = await sendCode(
        t,
        await pendingToken(t, user.email),
        ` ${code.slice(0, 3)} ${code.slice(3)} `,
      );

      expect(answer.status).toBe(200);
    });

    it('lets a pending session log out', async () => {
      const { user, secret } = await twoFactorUser();
      const pending = await pendingToken(t, user.email);

      expect((await t.http.post('/auth/logout').set(bearer(pending))).status).toBe(204);
      expect((await sendCode(t, pending, currentCode(t, secret))).body.error).toBe(
        'unauthenticated',
      );
    });

    it('ends a pending session after 5 minutes', async () => {
      const { user, secret } = await twoFactorUser();
      const early = await pendingToken(t, user.email);
      const late = await pendingToken(t, user.email);
      const issuedAt = t.clock.now().getTime();

      t.clock.set(new Date(issuedAt + 5 * MINUTE - 1));
      expect((await sendCode(t, early, currentCode(t, secret))).status).toBe(200);
      t.clock.set(new Date(issuedAt + 5 * MINUTE));
      const answer = await sendCode(t, late, currentCode(t, secret, 1));

      expect(answer.status).toBe(401);
      expect(answer.body.error).toBe('unauthenticated');
    });

    it('answers 403 forbidden to a session that is already past the code step', async () => {
      const { token, secret, recoveryCodes } = await twoFactorUser();

      const code = await sendCode(t, token, currentCode(t, secret));
      const recovery = await sendRecoveryCode(t, token, recoveryCodes[0]);

      for (const answer of [code, recovery]) {
        expect(answer.status).toBe(403);
        expect(answer.body.error).toBe('forbidden');
      }
    });
  });

  describe('replays', () => {
    it('refuses a code of the same step a second time, as a wrong code', async () => {
      const { user, secret } = await twoFactorUser();
      const code = currentCode(t, secret);
      expect((await sendCode(t, await pendingToken(t, user.email), code)).status).toBe(200);
      const pending = await pendingToken(t, user.email);

      const replay = await sendCode(t, pending, code);

      expect(replay.status).toBe(401);
      expect(replay.body).toEqual(
        (await sendCode(t, pending, wrongCode(secret, t.clock.now()))).body,
      );
      expect(await sessionFailures(t, pending)).toBe(2);
      expect((await credentialOf(t, user.id))?.failedAttempts).toBe(2);
    });

    it('refuses the current and older steps once the next step (drift) was accepted', async () => {
      const { user, secret } = await twoFactorUser();
      const ahead = await sendCode(t, await pendingToken(t, user.email), currentCode(t, secret, 1));
      expect(ahead.status).toBe(200);
      const pending = await pendingToken(t, user.email);

      for (const offset of [0, -1]) {
        const answer = await sendCode(t, pending, currentCode(t, secret, offset));
        expect(answer.status).toBe(401);
        expect(answer.body.error).toBe('invalid_code');
      }
      t.clock.advance(STEP);
      expect((await sendCode(t, pending, currentCode(t, secret))).status).toBe(401);
      t.clock.advance(STEP);
      expect((await sendCode(t, pending, currentCode(t, secret))).status).toBe(200);
    });

    it('refuses across all code routes alike: a step used at login does not confirm a renewal', async () => {
      const { user, token, secret } = await twoFactorUser();
      const code = currentCode(t, secret);
      expect((await sendCode(t, await pendingToken(t, user.email), code)).status).toBe(200);

      const renewal = await t.http
        .post('/me/two-factor/recovery-codes')
        .set(bearer(token))
        .send({ code });

      expect(renewal.status).toBe(401);
      expect(renewal.body.error).toBe('invalid_code');
    });
  });

  describe('the drift window (TOTP_WINDOW=1)', () => {
    it.each([-1, 1])('accepts the code of step %i', async (offset) => {
      const { user, secret } = await twoFactorUser();
      // Past the step that confirmed the setup.
      t.clock.advance(3 * STEP);

      const answer = await sendCode(
        t,
        await pendingToken(t, user.email),
        currentCode(t, secret, offset),
      );

      expect(answer.status).toBe(200);
    });

    it.each([-2, 2])('refuses the code of step %i', async (offset) => {
      const { user, secret } = await twoFactorUser();
      t.clock.advance(3 * STEP);
      const code = currentCode(t, secret, offset);
      // A code may happen to equal the code of a step inside the window.
      const inWindow = [-1, 0, 1].map((o) => currentCode(t, secret, o));

      const answer = await sendCode(t, await pendingToken(t, user.email), code);

      expect(answer.status).toBe(inWindow.includes(code) ? 200 : 401);
    });
  });

  describe('the code format', () => {
    it('refuses everything but 6 ASCII digits with 400 validation_failed, and counts none of it', async () => {
      const { user, secret } = await twoFactorUser();
      const pending = await pendingToken(t, user.email);
      const code = currentCode(t, secret);
      const malformed: unknown[] = [
        Number(code),
        code.slice(1),
        `${code}1`,
        '',
        transliterate(code, ARABIC_INDIC),
        transliterate(code, FULLWIDTH),
        `${transliterate(code[0], FULLWIDTH)}${code.slice(1)}`,
        '55632a',
        `${code.slice(1)}a`,
        `${code}\n`,
        `\t${code}`,
        `${code.slice(0, 3)}-${code.slice(3)}`,
        `${code.slice(0, 3)}\u00a0${code.slice(3)}`,
        `+${code.slice(1)}`,
        `${code}.0`,
        null,
        true,
        [code],
        { code },
      ];

      for (const value of malformed) {
        const answer = await sendCode(t, pending, value);
        expect({ value, status: answer.status, error: answer.body.error }).toEqual({
          value,
          status: 400,
          error: 'validation_failed',
        });
        expect(answer.body.message).toContain('code');
      }

      expect(await sessionFailures(t, pending)).toBe(0);
      expect((await credentialOf(t, user.id))?.failedAttempts).toBe(0);
      expect((await sendCode(t, pending, code)).status).toBe(200);
    });

    it('takes leading zeros as part of the code', async () => {
      const { user, secret } = await twoFactorUser();
      while (!currentCode(t, secret).startsWith('0')) {
        t.clock.advance(STEP);
      }
      const code = currentCode(t, secret);
      const pending = await pendingToken(t, user.email);

      expect((await sendCode(t, pending, Number(code))).status).toBe(400);
      expect((await sendCode(t, pending, code.replace(/^0+/, ''))).status).toBe(400);
      expect((await sendCode(t, pending, code)).status).toBe(200);
    });

    it('refuses a trustDevice that is not a boolean with 400, null included', async () => {
      const { user, secret } = await twoFactorUser();
      const pending = await pendingToken(t, user.email);

      for (const trustDevice of ['true', 1, null]) {
        const answer = await sendCode(t, pending, currentCode(t, secret), { trustDevice });
        expect(answer.status).toBe(400);
        expect(answer.body.message).toContain('trustDevice');
      }
    });
  });

  describe('wrong codes', () => {
    it('ends a pending session at its fifth wrong code; later calls with it are unauthenticated', async () => {
      const user = await twoFactorUser();
      const pending = await pendingToken(t, user.user.email);
      await failCodes(user, pending, 4);

      const fifth = await sendCode(t, pending, wrongCode(user.secret, t.clock.now()));

      expect(fifth.status).toBe(401);
      expect(fifth.body.error).toBe('invalid_code');
      const after = await sendCode(t, pending, currentCode(t, user.secret));
      expect(after.status).toBe(401);
      expect(after.body.error).toBe('unauthenticated');
      expect(
        (await sendCode(t, await pendingToken(t, user.user.email), currentCode(t, user.secret)))
          .status,
      ).toBe(200);
    });

    it('locks code entry for 15 minutes after 10 wrong codes in a row, for the code and the recovery step', async () => {
      const user = await twoFactorUser();
      await lockCodeEntry(user);
      const pending = await pendingToken(t, user.user.email);

      const code = await sendCode(t, pending, currentCode(t, user.secret));
      const recovery = await sendRecoveryCode(t, pending, user.recoveryCodes[0]);

      for (const answer of [code, recovery]) {
        expect(answer.status).toBe(429);
        expect(answer.body).toEqual({
          statusCode: 429,
          error: 'two_factor_locked',
          message: expect.any(String),
        });
        expect(answer.headers['retry-after']).toBe('900');
      }
      expect(await sessionFailures(t, pending)).toBe(0);
    });

    it("queues one 'two-factor-locked' mail for the lock", async () => {
      const user = await twoFactorUser();
      await lockCodeEntry(user);
      await sendCode(
        t,
        await pendingToken(t, user.user.email),
        wrongCode(user.secret, t.clock.now()),
      );

      const mails = (await outboxMails(t, user.user.email)).filter(
        (mail) => mail.template === 'two-factor-locked',
      );

      expect(mails).toHaveLength(1);
      expect(mails[0].status).toBe('pending');
      expect(mails[0].payload).not.toContain(user.secret);
    });

    it('does not extend the lock with attempts during it, and lifts it after 15 minutes', async () => {
      const user = await twoFactorUser();
      await lockCodeEntry(user);
      const lockedAt = t.clock.now().getTime();

      t.clock.set(new Date(lockedAt + 14 * MINUTE));
      const pending = await pendingToken(t, user.user.email);
      const during = await sendCode(t, pending, wrongCode(user.secret, t.clock.now()));
      expect(during.status).toBe(429);
      expect(during.headers['retry-after']).toBe('60');

      t.clock.set(new Date(lockedAt + 15 * MINUTE - SECOND));
      expect((await sendCode(t, pending, currentCode(t, user.secret))).status).toBe(429);
      t.clock.set(new Date(lockedAt + 15 * MINUTE));
      expect((await sendCode(t, pending, currentCode(t, user.secret))).status).toBe(200);
    });

    it('still reaches the pending stage at login during the lock', async () => {
      const user = await twoFactorUser();
      await lockCodeEntry(user);

      const answer = await login(t, user.user.email);

      expect(answer.status).toBe(200);
      expect(answer.body.stage).toBe('two-factor-required');
    });

    it('starts the count again after a valid code', async () => {
      const user = await twoFactorUser();
      await failCodes(user, await pendingToken(t, user.user.email), 5);
      await failCodes(user, await pendingToken(t, user.user.email), 4);
      expect(
        (await sendCode(t, await pendingToken(t, user.user.email), currentCode(t, user.secret)))
          .status,
      ).toBe(200);
      t.clock.advance(STEP);

      await failCodes(user, await pendingToken(t, user.user.email), 5);
      await failCodes(user, await pendingToken(t, user.user.email), 4);

      const answer = await sendCode(
        t,
        await pendingToken(t, user.user.email),
        currentCode(t, user.secret),
      );
      expect(answer.status).toBe(200);
    });

    it('starts the count again when a lock ends', async () => {
      const user = await twoFactorUser();
      await lockCodeEntry(user);
      t.clock.advance(15 * MINUTE);

      await failCodes(user, await pendingToken(t, user.user.email), 5);
      await failCodes(user, await pendingToken(t, user.user.email), 4);

      const answer = await sendCode(
        t,
        await pendingToken(t, user.user.email),
        currentCode(t, user.secret),
      );
      expect(answer.status).toBe(200);
    });

    it('counts wrong codes of every code route together: one verifier', async () => {
      const user = await twoFactorUser();
      await failCodes(user, await pendingToken(t, user.user.email), 5);
      for (let i = 0; i < 3; i++) {
        const answer = await t.http
          .delete('/me/two-factor')
          .set(bearer(user.token))
          .send({ code: wrongCode(user.secret, t.clock.now()) });
        expect(answer.body.error).toBe('invalid_code');
      }
      const renewal = await t.http
        .post('/me/two-factor/recovery-codes')
        .set(bearer(user.token))
        .send({ code: wrongCode(user.secret, t.clock.now()) });
      expect(renewal.body.error).toBe('invalid_code');
      const recovery = await sendRecoveryCode(
        t,
        await pendingToken(t, user.user.email),
        'WRONG-WRONG-WRONG',
      );
      expect(recovery.body.error).toBe('invalid_code');

      const locked = await sendCode(
        t,
        await pendingToken(t, user.user.email),
        currentCode(t, user.secret),
      );

      expect(locked.status).toBe(429);
      expect(locked.body.error).toBe('two_factor_locked');
    });
  });
});

describe.each([
  ['0', [0], [-1, 1]],
  ['2', [-2, -1, 0, 1, 2], [-3, 3]],
])('the drift window with TOTP_WINDOW=%s', (window, accepted, refused) => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { TOTP_WINDOW: window } });
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  it(`accepts the codes of steps ${accepted.join(', ')} and refuses those of steps ${refused.join(', ')}`, async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    // Past the step that confirmed the setup, so every step tried is unused.
    t.clock.advance(5 * STEP);
    const windowSize = Number(window);
    const inWindow = (code: string) =>
      Array.from({ length: 2 * windowSize + 1 }, (_, i) => i - windowSize).some(
        (offset) => totpCode(secret, t.clock.now(), offset) === code,
      );

    for (const offset of refused) {
      const code = currentCode(t, secret, offset);
      const answer = await sendCode(t, await pendingToken(t, user.email), code);
      expect({ offset, status: answer.status }).toEqual({
        offset,
        status: inWindow(code) ? 200 : 401,
      });
    }
    // Oldest first: each accepted step must be above the last one.
    for (const offset of accepted) {
      const answer = await sendCode(
        t,
        await pendingToken(t, user.email),
        currentCode(t, secret, offset),
      );
      expect({ offset, status: answer.status }).toEqual({ offset, status: 200 });
    }
  });
});
