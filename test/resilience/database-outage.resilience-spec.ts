import { wrongCode } from '../support/totp-reference';
import {
  PASSWORD,
  TwoFactorUser,
  adminToken,
  awayFromStepBoundary,
  createUser,
  freshCode,
  fullToken,
  pendingToken,
  withTwoFactor,
} from './support/accounts';
import { Cluster } from './support/cluster';
import { figure } from './support/figures';
import { HttpAnswer, isErrorShape, sleep } from './support/http';
import { ServiceInstance } from './support/instance';
import { mariadb } from './support/mariadb';

const ANSWER_WITHIN_MS = 3_000;
const RECOVER_WITHIN_MS = 30_000;

interface Snapshot {
  credentials: string;
  deadlines: string;
}

describe('database outages', () => {
  let cluster: Cluster;
  let admin: string;
  let user: TwoFactorUser;
  let counted: TwoFactorUser;
  let locked: TwoFactorUser;
  // One user per instance for the checks after an outage: each code step takes a time step.
  let serving: TwoFactorUser[];
  let pids: (number | undefined)[];

  beforeAll(async () => {
    // With the jobs on, so the mail senders live through the outages too.
    cluster = await Cluster.start({
      database: 'bo_outage',
      // One argon2 hash at a time: logins under way stay in their password check for a while.
      env: { JOBS_ENABLED: 'true', MAIL_POLL_SECONDS: '1', PASSWORD_HASH_CONCURRENCY: '1' },
    });
    admin = await adminToken(cluster);
    user = await withTwoFactor(cluster.pick(), await createUser(cluster.pick(), admin));
    counted = await withTwoFactor(cluster.pick(), await createUser(cluster.pick(), admin));
    locked = await withTwoFactor(cluster.pick(), await createUser(cluster.pick(), admin));
    serving = await Promise.all(
      cluster.instances.map(async (instance) =>
        withTwoFactor(instance, await createUser(instance, admin)),
      ),
    );
    await wrongCodes(counted, 3);
    await wrongCodes(locked, 10);
    // A deadline a week ahead for the counted user, written as an administrator would see it.
    await cluster.db.query('UPDATE users SET two_factor_deadline = ? WHERE id = ?', [
      new Date(Date.now() + 7 * 86_400_000),
      counted.id,
    ]);
    pids = cluster.instances.map((i) => i.pid);
  });
  afterAll(async () => {
    // Whatever happened, leave the shared server running for the next file.
    try {
      mariadb.thaw();
    } catch {
      // not running
    }
    await mariadb.start();
    await cluster?.stop();
  });

  async function wrongCodes(target: TwoFactorUser, count: number): Promise<void> {
    await awayFromStepBoundary();
    const wrong = wrongCode(target.secret, new Date());
    for (let i = 0; i < count; i++) {
      // At most four in one pending session: the fifth would end it.
      const token = await pendingToken(cluster.pick(), target.email);
      const answer = await cluster.pick().request({
        path: '/auth/two-factor',
        token,
        body: { code: wrong },
      });
      expect(answer.status).toBe(401);
    }
  }

  async function snapshot(): Promise<Snapshot> {
    const credentials = await cluster.db.query(
      'SELECT user_id, failed_attempts, locked_until, last_used_step FROM two_factor_credentials ORDER BY user_id',
    );
    const deadlines = await cluster.db.query(
      'SELECT id, two_factor_deadline FROM users WHERE id <= ? ORDER BY id',
      [serving[serving.length - 1].id],
    );

    return { credentials: JSON.stringify(credentials), deadlines: JSON.stringify(deadlines) };
  }

  function expectUnavailable(answer: HttpAnswer, what: string): void {
    const problem =
      answer.status !== 503
        ? `status ${answer.status}`
        : !isErrorShape(answer) || answer.body.error !== 'database_unavailable'
          ? `body ${answer.text}`
          : !answer.headers.get('retry-after')
            ? 'no Retry-After'
            : answer.ms > ANSWER_WITHIN_MS
              ? `${Math.round(answer.ms)} ms`
              : answer.text.includes('sessionToken') || answer.headers.get('set-cookie')
                ? 'a token was issued'
                : null;
    if (problem) {
      throw new Error(`${what}: ${problem} (${answer.text.slice(0, 300)})`);
    }
  }

  /** Login, code step and /health on every instance while the database is away. */
  async function duringOutage(label: string): Promise<number> {
    const pendings = await Promise.all(cluster.instances.map((i) => pendingToken(i, user.email)));
    const { code } = await freshCode(user);
    const sessionsBefore = await cluster.db.count('SELECT COUNT(*) AS n FROM sessions');
    const inFlightUser = await createUser(cluster.pick(), admin);

    // Logins already under way when the database goes: each ends with a session or with none.
    const inFlight = Promise.all(
      Array.from({ length: 10 }, () =>
        cluster.instances[0].request({
          path: '/auth/login',
          body: { email: inFlightUser.email, password: PASSWORD },
        }),
      ),
    );
    // The outage comes once all ten are counted and their passwords are being checked.
    let counted = 0;
    for (const started = Date.now(); counted < 10 && Date.now() - started < 2_000;) {
      const [row] = await cluster.db.query<{ failures: number }>(
        'SELECT failures FROM password_failures WHERE email = ?',
        [inFlightUser.email],
      );
      counted = Number(row?.failures ?? 0);
    }
    await outage.begin();
    // Let the pools notice nothing: requests go out on connections that were fine a moment ago.
    await sleep(300);
    const rounds = await Promise.all(
      cluster.instances.map(async (instance, i) => {
        const [login, step, health] = await Promise.all([
          instance.request({
            path: '/auth/login',
            body: { email: user.email, password: PASSWORD },
          }),
          instance.request({ path: '/auth/two-factor', token: pendings[i], body: { code } }),
          instance.request({ path: '/health' }),
        ]);

        return { instance, login, step, health };
      }),
    );
    // A second wave, once the pools have seen the failure, larger than a pool (20).
    const again = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        cluster.instances[i % 3].request({
          path: '/auth/login',
          body: { email: user.email, password: PASSWORD },
        }),
      ),
    );
    const cut = await inFlight;
    await outage.end();

    for (const { instance, login, step, health } of rounds) {
      expectUnavailable(login, `${label} login on ${instance.name}`);
      expectUnavailable(step, `${label} code step on ${instance.name}`);
      expectUnavailable(health, `${label} /health on ${instance.name}`);
    }
    again.forEach((answer, i) => expectUnavailable(answer, `${label} second login on ${i + 1}`));
    const slowest = Math.max(
      ...rounds.flatMap((r) => [r.login.ms, r.step.ms, r.health.ms]),
      ...again.map((a) => a.ms),
    );

    const recovered = await Promise.all(cluster.instances.map((i) => recovery(i)));
    figure(`${label}: slowest answer during the outage`, `${Math.round(slowest)} ms (503)`);
    figure(
      `${label}: recovery after the database returned`,
      `${Math.round(Math.max(...recovered))} ms, ${cluster.instances.length} of ${cluster.instances.length} instances, no restart`,
    );
    expect(cluster.instances.map((i) => i.pid)).toEqual(pids);
    // No session from a login that answered 503: the pending ones made before are still there,
    // and the logins cut by the outage left one session for each that answered 200.
    const completed = cut.filter((a) => a.status === 200).length;
    expect(cut.every((a) => a.status === 200 || a.status === 503)).toBe(true);
    const sessionsAfter = await cluster.db.count('SELECT COUNT(*) AS n FROM sessions');
    expect(sessionsAfter).toBe(sessionsBefore + completed);
    // The user whose logins were cut logs in again: checks counted but never recorded do not
    // shut the account out.
    const cutAt = Date.now();
    let relogin = await loginAgain(inFlightUser.email);
    while (relogin.status === 429 && Date.now() - cutAt < 30_000) {
      await sleep(1_000);
      relogin = await loginAgain(inFlightUser.email);
    }
    figure(
      `${label}: logins under way at the outage`,
      `${completed} of ${cut.length} completed, the rest 503 (${counted} counted at the outage), ${sessionsAfter - sessionsBefore - completed} sessions without an answer; ${relogin.status === 200 ? `the user logged in again after ${Math.round((Date.now() - cutAt) / 1000)} s` : `the user still could not log in (${relogin.status})`}`,
    );
    expect(relogin.status).toBe(200);

    return slowest;
  }

  function loginAgain(email: string): Promise<HttpAnswer> {
    return cluster.pick().request({ path: '/auth/login', body: { email, password: PASSWORD } });
  }

  /** Milliseconds until the instance serves a login and a code step again. */
  async function recovery(instance: ServiceInstance): Promise<number> {
    const started = Date.now();
    for (;;) {
      const health = await instance.request({ path: '/health', timeoutMs: 5_000 });
      if (health.status === 200) {
        break;
      }
      if (Date.now() - started > RECOVER_WITHIN_MS) {
        throw new Error(`${instance.name} did not recover: ${health.status} ${health.text}`);
      }
      await sleep(200);
    }

    return Date.now() - started;
  }

  let round = 0;

  /** Every instance serves logins and code steps again, and mail goes out again. */
  async function expectServing(): Promise<void> {
    const since = Date.now();
    round += 1;
    await Promise.all(
      cluster.instances.map(async (instance, i) => {
        const token = await fullToken(instance, serving[i]);
        const me = await instance.request({ path: '/me', token });
        expect(me.status).toBe(200);
        // A recovery code used now queues a mail.
        const pending = await pendingToken(instance, serving[i].email);
        const recovered = await instance.request({
          path: '/auth/recovery',
          token: pending,
          body: { recoveryCode: serving[i].recoveryCodes[round] },
        });
        expect(recovered.status).toBe(200);
      }),
    );
    const emails = new Set(serving.map((u) => u.email));
    const delivered = await cluster.mail.waitFor(
      (mails) => mails.filter((m) => m.at >= since && emails.has(m.to)).length >= emails.size,
      30_000,
    );
    expect(delivered).toBe(true);
  }

  const outage: { begin: () => Promise<void>; end: () => Promise<void> } = {
    begin: () => Promise.resolve(),
    end: () => Promise.resolve(),
  };

  it('answers 503 in time while the database is frozen (SIGSTOP) and recovers after SIGCONT', async () => {
    const before = await snapshot();
    outage.begin = () => Promise.resolve(mariadb.freeze());
    outage.end = () => Promise.resolve(mariadb.thaw());

    await duringOutage('database frozen');

    await expectServing();
    expect(await snapshotWithout(before)).toEqual(before.deadlines);
  });

  it('answers 503 in time while the database is down and recovers after it starts again', async () => {
    const before = await snapshot();
    outage.begin = () => mariadb.stop();
    outage.end = () => mariadb.start();

    await duringOutage('database stopped');

    await expectServing();
    expect(await snapshotWithout(before)).toEqual(before.deadlines);
  });

  // Lock counters and deadlines as they were (the code user's own counter moves with logins).
  async function snapshotWithout(before: Snapshot): Promise<string> {
    const after = await snapshot();
    // The users who log in after the outage move their own last step; nobody else's changes.
    const movers = new Set([user.id, ...serving.map((u) => u.id)]);
    const pick = (json: string) =>
      (JSON.parse(json) as { user_id: number }[]).filter((row) => !movers.has(row.user_id));
    expect(pick(after.credentials)).toEqual(pick(before.credentials));

    return after.deadlines;
  }
});
