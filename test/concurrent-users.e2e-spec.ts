import { RecoveryCode } from '../src/two-factor/recovery-code.entity';
import { bearer, createClient, createUsersInBulk, loginToken } from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

// Different users doing the same thing at the same moment share no rows, so none of them may
// fail for the others (on MySQL, gap locks of statements that find nothing once made InnoDB
// pick deadlock victims among unrelated users).
describe('many users at the same moment', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('confirms 2FA for twelve users at once, each with ten recovery codes', async () => {
    const client = await createClient(t);
    const users = await createUsersInBulk(t, client.id, 12);
    const tokens = await Promise.all(users.map((user) => loginToken(t, user.email)));
    const secrets = await Promise.all(
      tokens.map(async (token) => {
        const setup = await t.http
          .post('/me/two-factor/setup')
          .set(bearer(token))
          .send({ password: 'a long enough password' });
        expect([setup.status, setup.body.error]).toEqual([201, undefined]);

        return (setup.body as { secret: string }).secret;
      }),
    );

    const answers = await Promise.all(
      tokens.map((token, i) =>
        t.http
          .post('/me/two-factor/confirm')
          .set(bearer(token))
          .send({ code: totpCode(secrets[i], t.clock.now()) }),
      ),
    );

    expect(answers.map((answer) => answer.status)).toEqual(users.map(() => 200));
    for (const user of users) {
      expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId: user.id })).toBe(10);
    }
  });
});
