import { totpCode, wrongCode } from '../support/totp-reference';
import {
  TwoFactorUser,
  adminToken,
  awayFromStepBoundary,
  createUser,
  freshCode,
  pendingToken,
  withTwoFactor,
} from './support/accounts';
import { Cluster } from './support/cluster';
import { figure } from './support/figures';
import { isErrorShape } from './support/http';

describe('three instances on one MariaDB', () => {
  let cluster: Cluster;
  let admin: string;

  beforeAll(async () => {
    cluster = await Cluster.start({ database: 'bo_cross' });
    admin = await adminToken(cluster);
  });
  afterAll(() => cluster?.stop());

  async function twoFactorUser(): Promise<TwoFactorUser> {
    const user = await createUser(cluster.pick(), admin);

    return withTwoFactor(cluster.pick(), user);
  }

  it('accepts one valid code exactly once when 50 submissions race over the instances', async () => {
    const user = await twoFactorUser();
    // Logged in a few at a time: more than ten password checks at once for one email wait.
    const sessions: string[] = [];
    for (let i = 0; i < 50; i += 5) {
      sessions.push(
        ...(await Promise.all(
          [0, 1, 2, 3, 4].map((j) => pendingToken(cluster.instances[(i + j) % 3], user.email)),
        )),
      );
    }
    const { code } = await freshCode(user);

    const answers = await Promise.all(
      sessions.map((token, i) =>
        cluster.instances[i % 3].request({ path: '/auth/two-factor', token, body: { code } }),
      ),
    );

    const accepted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    figure('replays accepted', `${accepted.length - 1} of ${answers.length - 1}`);
    expect(accepted).toHaveLength(1);
    expect(refused.every((a) => [401, 429].includes(a.status) && isErrorShape(a))).toBe(true);
    expect(refused.map((a) => a.body.error as string).sort()).toEqual(
      expect.arrayContaining(['invalid_code']),
    );
    expect(refused.every((a) => ['invalid_code', 'two_factor_locked'].includes(a.body.error))).toBe(
      true,
    );
  });

  it('locks code entry on every instance after 10 wrong codes spread over them', async () => {
    const user = await twoFactorUser();
    // Three pending sessions, one per instance, so that no session reaches its own limit of 5.
    const sessions = await Promise.all(
      cluster.instances.map((instance) => pendingToken(instance, user.email)),
    );
    await awayFromStepBoundary();
    const wrong = wrongCode(user.secret, new Date());

    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        cluster.instances[i % 3].request({
          path: '/auth/two-factor',
          token: sessions[i % 3],
          body: { code: wrong },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(401));

    // A valid code now, on each instance, from a fresh login: refused while the lock holds.
    const { code } = await freshCode(user);
    const locked = await Promise.all(
      cluster.instances.map(async (instance) => {
        const token = await pendingToken(instance, user.email);

        return instance.request({ path: '/auth/two-factor', token, body: { code } });
      }),
    );
    const lockedOn = locked.filter(
      (a) =>
        a.status === 429 && a.body.error === 'two_factor_locked' && a.headers.get('retry-after'),
    );
    figure('locks shared', `locked on ${lockedOn.length} of ${cluster.instances.length} instances`);
    expect(lockedOn).toHaveLength(cluster.instances.length);
    const rows = await cluster.db.query<{ locked_until: Date | null }>(
      'SELECT locked_until FROM two_factor_credentials WHERE user_id = ?',
      [user.id],
    );
    expect(rows[0].locked_until?.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it('accepts a recovery code once when two instances take it at the same moment', async () => {
    const user = await twoFactorUser();
    const rounds = 5;
    let doubled = 0;
    for (let round = 0; round < rounds; round++) {
      const recoveryCode = user.recoveryCodes[round];
      const [a, b] = await Promise.all([
        pendingToken(cluster.instances[round % 3], user.email),
        pendingToken(cluster.instances[(round + 1) % 3], user.email),
      ]);
      const answers = await Promise.all([
        cluster.instances[round % 3].request({
          path: '/auth/recovery',
          token: a,
          body: { recoveryCode },
        }),
        cluster.instances[(round + 1) % 3].request({
          path: '/auth/recovery',
          token: b,
          body: { recoveryCode },
        }),
      ]);
      const ok = answers.filter((x) => x.status === 200).length;
      if (ok !== 1) {
        doubled += 1;
      }
      expect(answers.map((x) => x.status).sort()).toEqual([200, 401]);
    }
    figure('recovery code races with other than one success', `${doubled} of ${rounds}`);
    const used = await cluster.db.count(
      'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NOT NULL',
      [user.id],
    );
    expect(used).toBe(rounds);
  });

  it('keeps the code counter in the database: a code accepted on one instance is a replay on the others', async () => {
    const user = await twoFactorUser();
    const { code, step } = await freshCode(user);
    const first = await pendingToken(cluster.instances[0], user.email);
    const ok = await cluster.instances[0].request({
      path: '/auth/two-factor',
      token: first,
      body: { code },
    });
    expect(ok.status).toBe(200);
    user.lastStep = step;
    for (const instance of cluster.instances.slice(1)) {
      const token = await pendingToken(instance, user.email);
      const replay = await instance.request({ path: '/auth/two-factor', token, body: { code } });
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe('invalid_code');
    }
    expect(totpCode(user.secret, new Date(step * 30_000))).toBe(code);
  });
});
