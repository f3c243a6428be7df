import { PASSWORD, adminToken, createUser } from './support/accounts';
import { Cluster } from './support/cluster';
import { figure } from './support/figures';
import { HttpAnswer, sleep } from './support/http';
import { enqueueMails } from './support/seed';

describe('graceful shutdown on SIGTERM', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start({
      instances: 1,
      database: 'bo_shutdown',
      env: { JOBS_ENABLED: 'true', MAIL_POLL_SECONDS: '1' },
    });
  });
  afterAll(() => cluster?.stop());

  it('finishes the requests in flight, stops the sender cleanly and leaves no mail claimed', async () => {
    const [instance] = cluster.instances;
    const admin = await adminToken(cluster);
    const users = await Promise.all(Array.from({ length: 5 }, () => createUser(instance, admin)));
    // A slow mail server, so the sender is in the middle of a batch at the signal.
    cluster.mail.acceptDelayMs = 400;
    const recipients = Array.from({ length: 30 }, (_, i) => `shutdown-${i}@shutdown.test`);
    await enqueueMails(cluster.db, recipients, 'Shutdown');
    await cluster.mail.waitFor((mails) => mails.length >= 2, 30_000);

    // Logins in flight (each waits for argon2), then the signal.
    const inFlight: Promise<HttpAnswer>[] = Array.from({ length: 24 }, (_, i) =>
      instance.request({
        path: '/auth/login',
        body: { email: users[i % users.length].email, password: PASSWORD },
      }),
    );
    await sleep(30);
    const signalled = Date.now();
    const exitPromise = instance.kill('SIGTERM', 60_000);
    const answers = await Promise.all(inFlight);
    const exit = await exitPromise;
    const stoppedAfter = Date.now() - signalled;

    const claimed = await cluster.db.count(
      "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'pending' AND claim_token IS NOT NULL",
    );
    const leases = await cluster.db.count(
      'SELECT COUNT(*) AS n FROM job_leases WHERE holder IS NOT NULL',
    );
    const sentBefore = cluster.mail.distinct();
    figure(
      'graceful shutdown',
      `${answers.filter((a) => a.status === 200).length} of ${answers.length} requests in flight answered, stopped in ${stoppedAfter} ms (${exit.signal ?? `exit ${exit.code}`}), ${claimed} mails left claimed`,
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true);
    expect(claimed).toBe(0);
    expect(leases).toBe(0);
    expect(instance.output()).not.toMatch(/"level":(50|60)/);

    // The rest goes out from the next start, each mail once.
    cluster.mail.acceptDelayMs = 0;
    await instance.start();
    const all = await cluster.mail.waitFor(
      (mails) => cluster.mail.distinct(mails) >= recipients.length,
      60_000,
    );
    expect(all).toBe(true);
    expect(sentBefore).toBeLessThan(recipients.length);
    expect(cluster.mail.duplicates()).toEqual([]);
  });
});
