import type { Response } from 'supertest';

import { CodeVerifier } from '../src/two-factor/code-verifier.service';
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
  sessionsOf,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode, wrongCode } from './support/totp-reference';

function times<T>(count: number, make: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => make(index)));
}

/** Pending sessions of one user, logged in one after the other. */
async function pendingSessions(t: TestApp, email: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(await pendingToken(t, email));
  }

  return tokens;
}

function statusCounts(answers: Response[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.status === 200 ? '200' : `${answer.status} ${answer.body.error}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }

  return counts;
}

describe('two-factor races (parallel requests)', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  it('accepts one valid code exactly once when 10 pending sessions of the user send it at once', async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    const pendings = await pendingSessions(t, user.email, 10);
    const code = currentCode(t, secret);

    const answers = await Promise.all(pendings.map((pending) => sendCode(t, pending, code)));

    expect(statusCounts(answers)).toEqual({ '200': 1, '401 invalid_code': 9 });
    const winner = answers.find((answer) => answer.status === 200);
    const me = await t.http.get('/me').set(bearer(winner?.body.sessionToken));
    expect(me.status).toBe(200);
  });

  it('accepts one valid code exactly once when one pending session sends it 10 times at once', async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    const pending = await pendingToken(t, user.email);
    const code = currentCode(t, secret);

    const answers = await times(10, () => sendCode(t, pending, code));

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200).map((a) => a.status)).toEqual(
      Array(9).fill(401),
    );
    const winner = answers.find((answer) => answer.status === 200);
    expect((await t.http.get('/me').set(bearer(winner?.body.sessionToken))).status).toBe(200);
    expect((await sendCode(t, pending, code)).body.error).toBe('unauthenticated');
  });

  it.each([
    ['code', 'verifyTotp'],
    ['recovery code', 'verifyRecoveryCode'],
  ] as const)(
    'issues the session for an accepted %s even when five wrong codes reach the pending session while it is answered',
    async (_kind, step) => {
      const { user, secret, recoveryCodes } = await createTwoFactorUser(t, { clientId });
      const pending = await pendingToken(t, user.email);
      // The accepted request stalls right after its check, as under load; meanwhile five
      // wrong codes arrive in the same pending session (the fifth would end it).
      let releaseStall = (): void => undefined;
      const stall = new Promise<void>((resolve) => {
        releaseStall = resolve;
      });
      const original = CodeVerifier.prototype[step] as (...args: unknown[]) => Promise<unknown>;
      let checked = false;
      const spy = jest.spyOn(CodeVerifier.prototype, step).mockImplementationOnce(async function (
        this: CodeVerifier,
        ...args: unknown[]
      ) {
        try {
          return await original.apply(this, args);
        } finally {
          checked = true;
          await stall;
        }
      });

      try {
        const accepted = (
          step === 'verifyTotp'
            ? sendCode(t, pending, currentCode(t, secret))
            : sendRecoveryCode(t, pending, recoveryCodes[0])
        ).then((answer) => answer);
        while (!checked) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const wrong = wrongCode(secret, t.clock.now());
        for (let i = 0; i < 5; i++) {
          await sendCode(t, pending, wrong);
        }
        releaseStall();

        const answer = await accepted;
        expect(answer.status).toBe(200);
        expect((await t.http.get('/me').set(bearer(answer.body.sessionToken))).status).toBe(200);
      } finally {
        releaseStall();
        spy.mockRestore();
      }
    },
  );

  it('issues one full session when the codes of two steps race in one pending session', async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    const pending = await pendingToken(t, user.email);

    const answers = await Promise.all([
      sendCode(t, pending, currentCode(t, secret)),
      sendCode(t, pending, currentCode(t, secret, 1)),
    ]);

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    const full = (await sessionsOf(t, user.id)).filter((s) => s.secondFactorVerifiedAt !== null);
    // The session that confirmed the setup, and one from this login.
    expect(full).toHaveLength(2);
  });

  it('accepts one recovery code exactly once when 20 pending sessions use it at once', async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    const pendings = await pendingSessions(t, user.email, 20);

    const answers = await Promise.all(
      pendings.map((pending) => sendRecoveryCode(t, pending, recoveryCodes[0])),
    );

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    // Each refused use counts as a wrong code: the tenth locks code entry.
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(['401 invalid_code', '429 two_factor_locked']).toContain(
        `${answer.status} ${answer.body.error}`,
      );
    }
    const stored = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.id });
    expect(stored).toHaveLength(10);
    expect(stored.filter((code) => code.usedAt !== null)).toHaveLength(1);
  });

  it('accepts one recovery code exactly once when one pending session sends it 20 times at once', async () => {
    const { user, recoveryCodes } = await createTwoFactorUser(t, { clientId });
    const pending = await pendingToken(t, user.email);

    const answers = await times(20, () => sendRecoveryCode(t, pending, recoveryCodes[0]));

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    // Each refused use counts as a wrong code: the tenth locks code entry.
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(['401 invalid_code', '401 unauthenticated', '429 two_factor_locked']).toContain(
        `${answer.status} ${answer.body.error}`,
      );
    }
    const used = await t.dataSource.getRepository(RecoveryCode).findBy({ userId: user.id });
    expect(used.filter((code) => code.usedAt !== null)).toHaveLength(1);
  });

  it('locks code entry once, with one mail, when 20 wrong codes arrive at once', async () => {
    const { user, secret } = await createTwoFactorUser(t, { clientId });
    const pendings = await pendingSessions(t, user.email, 4);
    const wrong = wrongCode(secret, t.clock.now());

    const answers = await Promise.all(
      pendings.flatMap((pending) => Array.from({ length: 5 }, () => sendCode(t, pending, wrong))),
    );

    // Ten are checked and refused; the others find the lock (or their session ended).
    expect(answers.filter((answer) => answer.body.error === 'invalid_code')).toHaveLength(10);
    for (const answer of answers.filter((a) => a.body.error !== 'invalid_code')) {
      expect(['429 two_factor_locked', '401 unauthenticated']).toContain(
        `${answer.status} ${answer.body.error}`,
      );
    }
    const mails = (await outboxMails(t, user.email)).filter(
      (mail) => mail.template === 'two-factor-locked',
    );
    expect(mails).toHaveLength(1);
    const credential = await credentialOf(t, user.id);
    expect(credential?.failedAttempts).toBe(0);
  });

  it('confirms a setup once when one code is sent 10 times at once', async () => {
    const user = await createUser(t, { clientId });
    const token = await loginToken(t, user.email);
    const setup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(token))
      .send({ password: 'a long enough password' });
    const code = totpCode(setup.body.secret, t.clock.now());

    const answers = await times(10, () =>
      t.http.post('/me/two-factor/confirm').set(bearer(token)).send({ code }),
    );

    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    const winner = answers.find((answer) => answer.status === 200);
    expect(winner?.body.recoveryCodes).toHaveLength(10);
    expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(10);
  });

  it('deactivates 2FA once when one code is sent twice at once', async () => {
    const { user, token, secret } = await createTwoFactorUser(t, { clientId });
    const code = currentCode(t, secret);

    const answers = await times(2, () =>
      t.http.delete('/me/two-factor').set(bearer(token)).send({ code }),
    );

    expect(answers.filter((answer) => answer.status === 204)).toHaveLength(1);
    // The other is refused: as a replayed step, or because 2FA is already gone.
    const refused = answers.find((answer) => answer.status !== 204);
    expect(['401 invalid_code', '409 two_factor_not_active']).toContain(
      `${refused?.status} ${refused?.body.error}`,
    );
    expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(false);
    expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(0);
  });
});
