import { MINUTE_MS } from '../src/common/time';
import { TransactionRunner } from '../src/database/transaction-runner';
import { Session } from '../src/sessions/session.entity';
import { SessionsService } from '../src/sessions/sessions.service';
import { bearer, createClient, createUser } from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

describe('issuing sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['pending', true, 5 * MINUTE_MS],
    ['complete', false, 12 * 60 * MINUTE_MS],
  ] as const)(
    'returns a %s session as it is stored, with its id, and a token that finds it',
    async (_kind, pending, lifetime) => {
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id });
      const now = t.clock.now();

      const issued = await t.get(TransactionRunner).run((tx) =>
        t.get(SessionsService).issue(tx, {
          userId: user.id,
          channel: 'backoffice',
          activeClientId: client.id,
          passwordVerifiedAt: now,
          secondFactorVerifiedAt: pending ? null : now,
          pending,
          ip: '192.0.2.7',
          userAgent: 'spec',
        }),
      );

      const stored = await t.dataSource.getRepository(Session).findOneByOrFail({
        id: issued.session.id,
      });
      expect(issued.session).toEqual(stored);
      expect(stored.expiresAt.getTime() - now.getTime()).toBe(lifetime);
      // Without 2FA the stage is authenticated either way: the token finds its session.
      const me = await t.http.get('/me').set(bearer(issued.token));
      expect(me.status).toBe(200);
    },
  );
});
