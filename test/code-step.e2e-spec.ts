import { Session } from '../src/sessions/session.entity';
import { CodeVerifier } from '../src/two-factor/code-verifier.service';
import { TwoFactorCredential } from '../src/two-factor/two-factor-credential.entity';
import { User } from '../src/users/user.entity';
import {
  activateTwoFactor,
  auditEvents,
  bearer,
  createClient,
  createUser,
  loginToken,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

const STEP_MS = 30_000;

describe('the code step', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function userWithTwoFactor(): Promise<{ user: User; secret: string }> {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));

    return { user, secret };
  }

  const credentialOf = (userId: number) =>
    t.dataSource.getRepository(TwoFactorCredential).findOneByOrFail({ userId });
  const stepNow = () => Math.floor(t.clock.now().getTime() / STEP_MS);

  it('uses up the step, ends the pending session and issues a full one, in one go', async () => {
    const { user, secret } = await userWithTwoFactor();
    const pending = await loginToken(t, user.email);

    const answer = await t.http
      .post('/auth/two-factor')
      .set(bearer(pending))
      .send({ code: totpCode(secret, t.clock.now()) });

    expect(answer.status).toBe(200);
    expect(answer.body.stage).toBe('authenticated');
    expect((await credentialOf(user.id)).lastUsedStep).toBe(stepNow());
    expect((await t.http.get('/me').set(bearer(pending))).status).toBe(401);
    expect((await t.http.get('/me').set(bearer(answer.body.sessionToken))).status).toBe(200);
    const succeeded = await auditEvents(t, 'two_factor.code_succeeded');
    expect(succeeded.filter((event) => event.targetUserId === user.id)).toHaveLength(1);
  });

  it('leaves the step unused and counts nothing when what the code grants fails', async () => {
    const { user, secret } = await userWithTwoFactor();
    const before = await credentialOf(user.id);
    const attempt = { user, clientId: user.clientId, ip: null };

    await expect(
      t
        .get(CodeVerifier)
        .verifyTotp(attempt, totpCode(secret, t.clock.now()), 'active', () =>
          Promise.reject(new Error('the grant failed')),
        ),
    ).rejects.toThrow('the grant failed');

    const after = await credentialOf(user.id);
    expect(after.lastUsedStep).toBe(before.lastUsedStep);
    expect(after.failedAttempts).toBe(before.failedAttempts);
    // The same code still works.
    await t.get(CodeVerifier).verifyTotp(attempt, totpCode(secret, t.clock.now()), 'active');
    expect((await credentialOf(user.id)).lastUsedStep).toBe(stepNow());
  });

  it('gives two valid codes racing in one pending session one session, and uses one step', async () => {
    const { user, secret } = await userWithTwoFactor();
    const pending = await loginToken(t, user.email);
    const sessions = () => t.dataSource.getRepository(Session).countBy({ userId: user.id });
    const before = await sessions();
    const codes = [0, 1].map((offset) => totpCode(secret, t.clock.now(), offset));

    const answers = await Promise.all(
      codes.map((code) => t.http.post('/auth/two-factor').set(bearer(pending)).send({ code })),
    );

    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 401]);
    const winner = answers.findIndex((answer) => answer.status === 200);
    expect((await credentialOf(user.id)).lastUsedStep).toBe(stepNow() + winner);
    // The pending session gave way to exactly one new session.
    expect(await sessions()).toBe(before);
  });
});
