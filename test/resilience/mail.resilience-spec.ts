import { totpCode, wrongCode } from '../support/totp-reference';
import {
  PASSWORD,
  adminToken,
  awayFromStepBoundary,
  createUser,
  loginToken,
  pendingToken,
  withTwoFactor,
} from './support/accounts';
import { Cluster } from './support/cluster';
import { figure } from './support/figures';
import { HttpAnswer, expectStatus, sleep } from './support/http';
import { ArrivedMail } from './support/mail-listener';
import { enqueueMails, seedClient, seedUsers } from './support/seed';

const REMINDER_SUBJECT = 'Reminder: set up two-factor authentication';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);

  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe('mail with three instances sending', () => {
  let cluster: Cluster;
  let admin: string;

  beforeAll(async () => {
    cluster = await Cluster.start({
      database: 'bo_mail',
      env: { JOBS_ENABLED: 'true', MAIL_POLL_SECONDS: '1', LOG_LEVEL: 'info' },
    });
    admin = await adminToken(cluster);
  });
  afterAll(() => cluster?.stop());
  // A case that failed half-way must not leave the listener down or slow for the next one.
  afterEach(async () => {
    cluster.mail.acceptDelayMs = 0;
    await cluster.mail.start();
  });

  const to = (recipients: Set<string>) => (mails: ArrivedMail[]) =>
    mails.filter((mail) => recipients.has(mail.to));

  it('delivers every queued mail exactly once with the sender running on all three', async () => {
    const recipients = Array.from({ length: 300 }, (_, i) => `queued-${i}@sender.test`);
    const mine = to(new Set(recipients));
    await enqueueMails(cluster.db, recipients, 'Queued');

    const arrived = await cluster.mail.waitFor((mails) => mine(mails).length >= 300, 90_000);
    // A little longer: a second copy would come now.
    await sleep(3_000);

    const mails = mine(cluster.mail.arrived);
    const duplicates = cluster.mail.duplicates(mails);
    const bySender = cluster.instances.map(
      (instance) => instance.logLines().filter((line) => line.msg === 'Mail sent').length,
    );
    figure(
      'outbox on three senders',
      `${cluster.mail.distinct(mails)} of ${recipients.length} delivered, ${duplicates.length} twice (sent by the instances: ${bySender.join(', ')})`,
    );
    expect(arrived).toBe(true);
    expect(cluster.mail.distinct(mails)).toBe(recipients.length);
    expect(duplicates).toEqual([]);
    expect(
      await cluster.db.count(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE recipient LIKE '%@sender.test' AND status = 'sent'",
      ),
    ).toBe(recipients.length);
  });

  it('sends each due reminder once when enforcement ticks on all three instances', async () => {
    const clientId = await seedClient(cluster.db, {
      name: 'Reminded client',
      requireTwoFactor: true,
    });
    // 20 hours before the deadline: both the 3-day and the 1-day reminder are due.
    const deadline = new Date(Date.now() + 20 * 3_600_000);
    const users = await seedUsers(
      cluster.db,
      Array.from({ length: 100 }, (_, i) => ({
        clientId,
        email: `reminded-${i}@reminders.test`,
        deadline,
      })),
    );
    const mine = to(new Set(users.map((u) => u.email)));

    const ticks: string[][] = [];
    for (let tick = 0; tick < 5; tick++) {
      const runs = await Promise.all(cluster.instances.map((i) => i.cli(['enforcement:run'])));
      for (const run of runs) {
        expect(run.code).toBe(0);
      }
      ticks.push(runs.map((run) => run.stdout.split('\n')[0]));
    }
    const arrived = await cluster.mail.waitFor((mails) => mine(mails).length >= 200, 90_000);
    await sleep(3_000);

    const mails = mine(cluster.mail.arrived).filter((m) => m.subject === REMINDER_SUBJECT);
    const perUser = new Map<string, number>();
    mails.forEach((m) => perUser.set(m.to, (perUser.get(m.to) ?? 0) + 1));
    const queued = ticks
      .flat()
      .map((line) => Number(/reminders: (\d+) queued/.exec(line)?.[1] ?? 0));
    figure(
      'reminders exactly once',
      `${mails.length} mails for ${users.length} users due, 5 ticks of enforcement:run on all ${cluster.instances.length} instances at once (expected 200, ${cluster.mail.duplicates(mails).length} twice)`,
    );
    expect(arrived).toBe(true);
    expect(mails).toHaveLength(200);
    expect(cluster.mail.duplicates(mails)).toEqual([]);
    expect([...perUser.values()].every((n) => n === 2)).toBe(true);
    expect(queued.reduce((a, b) => a + b, 0)).toBe(200);
    expect(
      await cluster.db.count('SELECT COUNT(*) AS n FROM deadline_reminders WHERE user_id IN (?)', [
        users.map((u) => u.id),
      ]),
    ).toBe(200);
  });

  it('answers requests that queue mail at normal speed while SMTP is down, and delivers all later', async () => {
    // Users with a setup started, and users with 2FA on for the administrator to reset.
    const setUp = async (count: number) =>
      Promise.all(
        Array.from({ length: count }, async () => {
          const instance = cluster.pick();
          const user = await createUser(instance, admin);
          const { token } = await loginToken(instance, user.email);
          const setup = await instance.request({
            path: '/me/two-factor/setup',
            token,
            body: { password: PASSWORD },
          });
          expectStatus(setup, 201, 'setup');

          return { ...user, token, secret: setup.body.secret as string };
        }),
      );
    const confirmAll = async (pending: Awaited<ReturnType<typeof setUp>>) => {
      await awayFromStepBoundary();

      return Promise.all(
        pending.map((user, i) =>
          cluster.instances[i % 3].request({
            path: '/me/two-factor/confirm',
            token: user.token,
            body: { code: totpCode(user.secret, new Date()) },
          }),
        ),
      );
    };
    const expectOk = (answers: HttpAnswer[], status = 200) =>
      answers.forEach((a) => expectStatus(a, status, 'request that queues mail'));

    const baselineUsers = await setUp(10);
    const baseline = await confirmAll(baselineUsers);
    expectOk(baseline);
    const toReset = await Promise.all(
      Array.from({ length: 5 }, async () =>
        withTwoFactor(cluster.pick(), await createUser(cluster.pick(), admin)),
      ),
    );
    const duringUsers = await setUp(10);
    const lockedUser = await withTwoFactor(cluster.pick(), await createUser(cluster.pick(), admin));
    const recoveryUser = await withTwoFactor(
      cluster.pick(),
      await createUser(cluster.pick(), admin),
    );
    // Everything queued so far has gone out before the listener stops.
    for (;;) {
      const backlog = await cluster.db.count(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'pending'",
      );
      if (backlog === 0) {
        break;
      }
      await sleep(200);
    }

    await cluster.mail.stop();
    const outageStarted = Date.now();
    const during: HttpAnswer[] = [];
    during.push(...(await confirmAll(duringUsers)));
    during.push(
      ...(await Promise.all(
        toReset.map((user, i) =>
          cluster.instances[i % 3].request({
            method: 'DELETE',
            path: `/admin/users/${user.id}/two-factor`,
            token: admin,
          }),
        ),
      )),
    );
    expectOk(during.slice(0, 10));
    expectOk(during.slice(10), 204);
    // Ten wrong codes lock code entry (a mail); a recovery code is used (a mail).
    const wrong = wrongCode(lockedUser.secret, new Date());
    for (let i = 0; i < 10; i++) {
      const token = await pendingToken(cluster.pick(), lockedUser.email);
      const answer = await cluster
        .pick()
        .request({ path: '/auth/two-factor', token, body: { code: wrong } });
      during.push(answer);
    }
    const recoveryToken = await pendingToken(cluster.pick(), recoveryUser.email);
    const recovered = await cluster.pick().request({
      path: '/auth/recovery',
      token: recoveryToken,
      body: { recoveryCode: recoveryUser.recoveryCodes[0] },
    });
    expectStatus(recovered, 200, 'recovery during the outage');
    during.push(recovered);
    // The senders try and fail while it is down.
    await sleep(Math.max(0, 5_000 - (Date.now() - outageStarted)));
    const failedAttempts = await cluster.db.count(
      "SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'pending' AND attempts > 0",
    );
    await cluster.mail.start();

    const expected = new Set([
      ...duringUsers.map((u) => u.email),
      ...toReset.map((u) => u.email),
      lockedUser.email,
      recoveryUser.email,
    ]);
    const mine = (mails: ArrivedMail[]) =>
      mails.filter((m) => m.at >= outageStarted && expected.has(m.to));
    const arrived = await cluster.mail.waitFor(
      (mails) => new Set(mine(mails).map((m) => m.to)).size >= expected.size,
      150_000,
    );
    const returnedAfter = Date.now() - outageStarted;
    await sleep(3_000);
    const mails = mine(cluster.mail.arrived);

    const baselineMs = median(baseline.map((a) => a.ms));
    const duringMs = median(during.slice(0, 10).map((a) => a.ms));
    figure(
      'requests that queue mail while SMTP is down',
      `median ${Math.round(duringMs)} ms, slowest ${Math.round(Math.max(...during.map((a) => a.ms)))} ms (with SMTP up: median ${Math.round(baselineMs)} ms)`,
    );
    figure(
      'mails lost to the SMTP outage',
      `${expected.size - new Set(mails.map((m) => m.to)).size} of ${expected.size}, ${cluster.mail.duplicates(mails).length} twice, all in within ${Math.round(returnedAfter / 1000)} s (${failedAttempts} failed attempts during it)`,
    );
    expect(arrived).toBe(true);
    expect(cluster.mail.duplicates(mails)).toEqual([]);
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(1_500);
    expect(failedAttempts).toBeGreaterThan(0);
    // Every outage mail has arrived, and the lock mail once only.
    expect(mails.filter((m) => m.to === lockedUser.email)).toHaveLength(1);
  });

  it('loses no mail and doubles at most one when a sending instance is killed with SIGKILL', async () => {
    const recipients = Array.from({ length: 60 }, (_, i) => `killed-${i}@kill.test`);
    const mine = to(new Set(recipients));
    cluster.mail.acceptDelayMs = 250;
    await enqueueMails(cluster.db, recipients, 'Queued');
    await cluster.mail.waitFor((mails) => mine(mails).length >= 6, 60_000);

    const victim = cluster.instances[1];
    const claimedByAll = await cluster.db.count(
      "SELECT COUNT(*) AS n FROM mail_outbox WHERE recipient LIKE '%@kill.test' AND status = 'pending' AND claim_token IS NOT NULL",
    );
    await victim.kill('SIGKILL');
    const killedAt = Date.now();

    const arrived = await cluster.mail.waitFor(
      (mails) => cluster.mail.distinct(mine(mails)) >= recipients.length,
      240_000,
    );
    const allInAfter = Date.now() - killedAt;
    cluster.mail.acceptDelayMs = 0;
    await sleep(3_000);
    const mails = mine(cluster.mail.arrived);
    const duplicates = cluster.mail.duplicates(mails);
    figure(
      'mails lost to a sender killed with SIGKILL',
      `${recipients.length - cluster.mail.distinct(mails)} of ${recipients.length}, ${duplicates.length} twice, all in ${Math.round(allInAfter / 1000)} s after the kill (${claimedByAll} claimed at the kill)`,
    );
    expect(arrived).toBe(true);
    expect(duplicates.length).toBeLessThanOrEqual(1);
    expect(
      await cluster.db.count(
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE recipient LIKE '%@kill.test' AND status = 'sent'",
      ),
    ).toBe(recipients.length);

    await victim.start();
  });
});
