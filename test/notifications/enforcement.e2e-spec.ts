import { SchedulerRegistry } from '@nestjs/schedule';
import { getRepositoryToken } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';

import { runEnforcementCommand } from '../../src/cli/enforcement-commands';
import { requeueFailedMailCommand, sendMailCommand } from '../../src/cli/mail-commands';
import { Client } from '../../src/clients/client.entity';
import { DAY_MS, HOUR_MS, MINUTE_MS, addMs } from '../../src/common/time';
import { JobLease } from '../../src/database/job-lease.entity';
import { TransactionRunner } from '../../src/database/transaction-runner';
import {
  ENFORCEMENT_LEASE,
  EnforcementOutcome,
  EnforcementService,
} from '../../src/enforcement/enforcement.service';
import { DeadlineRemindersService } from '../../src/enforcement/deadline-reminders.service';
import { ENFORCEMENT_CRON, ENFORCEMENT_CRON_NAME } from '../../src/jobs/enforcement.job';
import { DeadlineReminder } from '../../src/notifications/deadline-reminder.entity';
import { MailOutboxService } from '../../src/notifications/mail-outbox.service';
import { Session } from '../../src/sessions/session.entity';
import { TrustedDevice } from '../../src/two-factor/trusted-device.entity';
import { TwoFactorCredential } from '../../src/two-factor/two-factor-credential.entity';
import { User } from '../../src/users/user.entity';
import {
  activateTwoFactor,
  bearer,
  createClient,
  createUser,
  createUsersInBulk,
  DEFAULT_PASSWORD,
  login,
  loginToken,
} from '../support/factories';
import { captureLogs, flushMail, outboxIdOf, payloadsByOutboxId } from '../support/mail';
import { SmtpListener, startSmtpListener } from '../support/smtp-listener';
import { TestApp, createTestApp } from '../support/test-app';
import { totpCode } from '../support/totp-reference';

const REMINDER_SUBJECT = 'Reminder: set up two-factor authentication';

function setDeadline(t: TestApp, userIds: number[], deadline: Date | null): Promise<unknown> {
  return t.dataSource
    .getRepository(User)
    .update({ id: In(userIds) }, { twoFactorDeadline: deadline });
}

async function requiredUser(t: TestApp, client: Client, deadline: Date | null): Promise<User> {
  const [user] = await createUsersInBulk(t, client.id, 1);
  await setDeadline(t, [user.id], deadline);

  return { ...user, twoFactorDeadline: deadline };
}

async function runOnce(t: TestApp): Promise<Extract<EnforcementOutcome, { ran: true }>> {
  const outcome = await t.get(EnforcementService).run();
  if (!outcome.ran) {
    throw new Error('the enforcement run was skipped');
  }

  return outcome;
}

/** The kinds of reminder `recipient` received, from the outbox rows behind the messages. */
async function reminderKindsReceived(
  t: TestApp,
  smtp: SmtpListener,
  recipient: string,
): Promise<string[]> {
  const mails = smtp.to(recipient).filter((mail) => mail.subject === REMINDER_SUBJECT);
  const payloads = await payloadsByOutboxId(
    t.dataSource,
    mails.map((mail) => outboxIdOf(mail.messageId)),
  );

  return mails.map((mail) => String(payloads.get(outboxIdOf(mail.messageId))?.kind));
}

describe('deadline reminders: 100 users, 5 runs', () => {
  let smtp: SmtpListener;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpListener();
    t = await createTestApp({ env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('sends exactly 200 reminder mails, never one twice', async () => {
    const client = await createClient(t, { requireTwoFactor: true });
    const users = await createUsersInBulk(t, client.id, 100);
    const firstDeadline = addMs(t.clock.now(), 10 * DAY_MS);
    // Deadlines 12 minutes apart, so each run finds a different share of reminders due.
    await t.get(TransactionRunner).run(async (tx) => {
      for (const [i, user] of users.entries()) {
        const deadline = addMs(firstDeadline, i * 12 * MINUTE_MS);
        await tx.update(User, { id: user.id }, { twoFactorDeadline: deadline });
      }
    });
    const emails = new Set(users.map((user) => user.email));
    const runs = [
      { at: addMs(firstDeadline, -62 * HOUR_MS), expected: 51 },
      { at: addMs(firstDeadline, -52 * HOUR_MS), expected: 49 },
      { at: addMs(firstDeadline, -14 * HOUR_MS), expected: 51 },
      { at: addMs(firstDeadline, -14 * HOUR_MS), expected: 0 },
      { at: addMs(firstDeadline, -4 * HOUR_MS), expected: 49 },
    ];

    const perRun: number[] = [];
    for (const run of runs) {
      t.clock.set(run.at);
      const before = smtp.received.length;
      const outcome = await runOnce(t);
      await flushMail(t);
      const received = smtp.received.slice(before).filter((mail) => emails.has(mail.to[0]));
      perRun.push(received.length);
      expect(outcome.counts.reminders.sent).toBe(run.expected);
    }

    expect(perRun).toEqual(runs.map((run) => run.expected));
    const reminders = smtp.received.filter((mail) => emails.has(mail.to[0]));
    expect(reminders).toHaveLength(200);
    expect(new Set(reminders.map((mail) => mail.messageId)).size).toBe(200);
    const payloads = await payloadsByOutboxId(
      t.dataSource,
      reminders.map((mail) => outboxIdOf(mail.messageId)),
    );
    const keys = reminders.map(
      (mail) => `${mail.to[0]}:${String(payloads.get(outboxIdOf(mail.messageId))?.kind)}`,
    );
    expect(new Set(keys).size).toBe(200);
    for (const user of users) {
      expect(keys.filter((key) => key.startsWith(`${user.email}:`)).sort()).toEqual([
        `${user.email}:one-day`,
        `${user.email}:three-days`,
      ]);
    }
    expect(await t.dataSource.getRepository(DeadlineReminder).count()).toBe(200);
  });
});

describe('deadline reminders', () => {
  let smtp: SmtpListener;
  let t: TestApp;
  let required: Client;

  beforeAll(async () => {
    smtp = await startSmtpListener();
    t = await createTestApp({ env: { SMTP_URL: smtp.url } });
    required = await createClient(t, { requireTwoFactor: true });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('sends both reminders to a user 20 hours before the deadline who never got the 3-day one', async () => {
    const user = await requiredUser(t, required, addMs(t.clock.now(), 20 * HOUR_MS));

    await runOnce(t);
    await flushMail(t);
    await runOnce(t);
    await flushMail(t);

    expect((await reminderKindsReceived(t, smtp, user.email)).sort()).toEqual([
      'one-day',
      'three-days',
    ]);
    const [mail] = smtp.to(user.email);
    const deadline = user.twoFactorDeadline?.toISOString() ?? '';
    expect(mail.text).toContain(`before ${deadline.slice(0, 10)} ${deadline.slice(11, 16)} UTC`);
    expect(mail.html).toContain('Hello Bulk User,');
  });

  it('reminds a user whose deadline was set at login, three days before it', async () => {
    const user = await createUser(t, { clientId: required.id });
    const answer = await login(t, user.email);
    expect(answer.body.notice).toMatchObject({ kind: 'two-factor-required', daysLeft: 10 });
    const deadline = new Date((answer.body.notice as { deadline: string }).deadline);

    t.clock.set(addMs(deadline, -3 * DAY_MS - MINUTE_MS));
    await runOnce(t);
    await flushMail(t);
    expect(await reminderKindsReceived(t, smtp, user.email)).toEqual([]);
    t.clock.advance(2 * MINUTE_MS);
    await runOnce(t);
    await flushMail(t);
    expect(await reminderKindsReceived(t, smtp, user.email)).toEqual(['three-days']);
    t.clock.set(addMs(deadline, -DAY_MS + HOUR_MS));
    await runOnce(t);
    await flushMail(t);

    expect(await reminderKindsReceived(t, smtp, user.email)).toEqual(['three-days', 'one-day']);
  });

  it('sends nothing to exempt, 2FA-active, inactive or no longer required users, nor after the deadline', async () => {
    const soon = addMs(t.clock.now(), 20 * HOUR_MS);
    const notRequiring = await createClient(t, { requireTwoFactor: false });
    // Small clients cannot be created requiring 2FA; a flag stored anyway must be ignored.
    const small = await createClient(t, { kind: 'small' });
    await t.dataSource.getRepository(Client).update({ id: small.id }, { requireTwoFactor: true });
    const control = await requiredUser(t, required, soon);
    const exempt = await requiredUser(t, required, soon);
    await t.dataSource.getRepository(User).update({ id: exempt.id }, { twoFactorExempt: true });
    const inactive = await requiredUser(t, required, soon);
    await t.dataSource.getRepository(User).update({ id: inactive.id }, { active: false });
    const settingOff = await requiredUser(t, notRequiring, soon);
    const inSmallClient = await requiredUser(t, small, soon);
    const overdue = await requiredUser(t, required, addMs(t.clock.now(), -HOUR_MS));
    const withTwoFactor = await createUser(t, { clientId: required.id });
    await activateTwoFactor(t, await loginToken(t, withTwoFactor.email));
    // A deadline left behind although 2FA is active: the job checks again.
    await setDeadline(t, [withTwoFactor.id], soon);

    await runOnce(t);
    await flushMail(t);

    expect(await reminderKindsReceived(t, smtp, control.email)).toHaveLength(2);
    for (const user of [exempt, inactive, settingOff, inSmallClient, overdue, withTwoFactor]) {
      expect(await reminderKindsReceived(t, smtp, user.email)).toEqual([]);
    }
  });

  it('reminds a cross-client user when a member client of their group requires 2FA', async () => {
    const soon = addMs(t.clock.now(), 2 * DAY_MS);
    const group = await createClient(t, { kind: 'group' });
    await createClient(t, { groupId: group.id, requireTwoFactor: true });
    const quietGroup = await createClient(t, { kind: 'group' });
    await createClient(t, { groupId: quietGroup.id, requireTwoFactor: false });
    const crossClient = await requiredUser(t, group, soon);
    const inQuietGroup = await requiredUser(t, quietGroup, soon);

    await runOnce(t);
    await flushMail(t);

    expect(await reminderKindsReceived(t, smtp, crossClient.email)).toEqual(['three-days']);
    expect(await reminderKindsReceived(t, smtp, inQuietGroup.email)).toEqual([]);
  });

  it('writes a reminder with its mail or not at all, and sends it on the next run', async () => {
    const user = await requiredUser(t, required, addMs(t.clock.now(), 2 * DAY_MS));
    const outbox = t.get(MailOutboxService);
    const original = outbox.enqueue.bind(outbox);
    const spy = jest
      .spyOn(outbox, 'enqueue')
      .mockImplementation((tx, template, to, payload) =>
        to === user.email
          ? Promise.reject(new Error('disk full'))
          : original(tx, template, to, payload),
      );

    let first;
    try {
      first = await runOnce(t);
    } finally {
      spy.mockRestore();
    }

    expect(first.counts.reminders.errors).toBe(1);
    expect(await t.dataSource.getRepository(DeadlineReminder).countBy({ userId: user.id })).toBe(0);
    const second = await runOnce(t);
    await flushMail(t);
    expect(second.counts.reminders.errors).toBe(0);
    expect(await reminderKindsReceived(t, smtp, user.email)).toEqual(['three-days']);
  });

  it('reminds again for a new deadline, once', async () => {
    const user = await requiredUser(t, required, addMs(t.clock.now(), 2 * DAY_MS));
    await runOnce(t);
    await setDeadline(t, [user.id], addMs(t.clock.now(), 2 * DAY_MS + HOUR_MS));
    await runOnce(t);
    await runOnce(t);
    await flushMail(t);

    expect(await reminderKindsReceived(t, smtp, user.email)).toEqual(['three-days', 'three-days']);
    expect(await t.dataSource.getRepository(DeadlineReminder).countBy({ userId: user.id })).toBe(2);
  });

  it('walks users by key across batches, reaching every one', async () => {
    // Past every earlier test's deadline: only these users are in the walk.
    t.clock.advance(30 * DAY_MS);
    const client = await createClient(t, { requireTwoFactor: true });
    const users = await createUsersInBulk(t, client.id, 23);
    await setDeadline(
      t,
      users.map((user) => user.id),
      addMs(t.clock.now(), 2 * DAY_MS),
    );
    const find = jest.spyOn(t.app.get<Repository<User>>(getRepositoryToken(User)), 'find');

    let counts;
    let calls: Parameters<Repository<User>['find']>[] = [];
    try {
      counts = await t.get(DeadlineRemindersService).sendDue(t.clock.now(), 5);
    } finally {
      calls = [...find.mock.calls];
      find.mockRestore();
    }
    await flushMail(t);

    expect(counts).toMatchObject({ usersChecked: 23, sent: 23, errors: 0 });
    // Five batches (5, 5, 5, 5, 3), each from the last id seen, none by offset.
    expect(calls).toHaveLength(5);
    expect(calls.every(([options]) => options?.skip === undefined)).toBe(true);
    expect(
      await t.dataSource
        .getRepository(DeadlineReminder)
        .countBy({ userId: In(users.map((u) => u.id)) }),
    ).toBe(23);
  });

  it('logs one debug line per batch with the last id and the reminders sent so far', async () => {
    t.clock.advance(30 * DAY_MS);
    const client = await createClient(t, { requireTwoFactor: true });
    const users = await createUsersInBulk(t, client.id, 7);
    await setDeadline(
      t,
      users.map((user) => user.id),
      addMs(t.clock.now(), 2 * DAY_MS),
    );
    const logs = captureLogs();

    try {
      await t.get(DeadlineRemindersService).sendDue(t.clock.now(), 3);
    } finally {
      logs.restore();
    }
    await flushMail(t);

    const batches = logs.lines
      .filter((line) => line.level === 'debug' && line.args[1] === 'Reminder batch done')
      .map((line) => line.args[0]);
    expect(batches).toEqual([
      { batch: 1, users: 3, lastId: users[2].id, sent: 3, capped: false },
      { batch: 2, users: 3, lastId: users[5].id, sent: 6, capped: false },
      { batch: 3, users: 1, lastId: users[6].id, sent: 7, capped: false },
    ]);
  });

  it('logs start, end and counts, never an address', async () => {
    const user = await requiredUser(t, required, addMs(t.clock.now(), 2 * DAY_MS));
    const logs = captureLogs();

    try {
      await runOnce(t);
      await flushMail(t);
    } finally {
      logs.restore();
    }

    const messages = logs.lines.map((line) => line.args[line.args.length - 1]);
    expect(messages).toContain('Enforcement started');
    const finished = logs.lines.find((line) => line.args[1] === 'Enforcement finished');
    expect(finished?.args[0]).toMatchObject({ reminders: { sent: 1 }, errors: 0 });
    expect(logs.lines.filter((line) => line.args[1] === 'Mail sent')).toHaveLength(1);
    expect(logs.lines.some((line) => line.text.includes(user.email))).toBe(false);
    expect(logs.lines.some((line) => /@example\.com/.test(line.text))).toBe(false);
  });
});

describe('enforcement job', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('works in one of two runs started at once; the other skips', async () => {
    const service = t.get(EnforcementService);
    // The first run to take the lease waits inside it until the other has tried: a run over an
    // empty database could otherwise end before the other one starts, and both would work.
    let bothStarted = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      bothStarted = resolve;
    });
    const sendDue = DeadlineRemindersService.prototype.sendDue;
    const spy = jest
      .spyOn(DeadlineRemindersService.prototype, 'sendDue')
      .mockImplementationOnce(async function (this: DeadlineRemindersService, ...args) {
        await gate;
        return sendDue.apply(this, args);
      });

    let outcomes;
    try {
      const runs = [service.run(), service.run()];
      await Promise.race(runs);
      bothStarted();
      outcomes = await Promise.all(runs);
    } finally {
      spy.mockRestore();
    }

    expect(outcomes.map((outcome) => outcome.ran).sort()).toEqual([false, true]);
    expect(
      (await t.dataSource.getRepository(JobLease).findOneBy({ name: ENFORCEMENT_LEASE }))?.holder,
    ).toBeNull();
    expect((await service.run()).ran).toBe(true);
  });

  it('skips while another instance holds the lease, and takes over a lapsed one', async () => {
    await t.dataSource.getRepository(JobLease).save({
      name: ENFORCEMENT_LEASE,
      holder: 'another-instance',
      expiresAt: addMs(t.clock.now(), 10 * MINUTE_MS),
    });

    expect((await t.get(EnforcementService).run()).ran).toBe(false);
    t.clock.advance(10 * MINUTE_MS);
    expect((await t.get(EnforcementService).run()).ran).toBe(true);
  });

  it('removes expired sessions, setups and trusted devices, and leaves live ones', async () => {
    const client = await createClient(t);
    const withDevice = await createUser(t, { clientId: client.id });
    const { secret } = await activateTwoFactor(t, await loginToken(t, withDevice.email));
    const pending = await loginToken(t, withDevice.email);
    const step = await t.http
      .post('/auth/two-factor')
      .set(bearer(pending))
      .send({ code: totpCode(secret, t.clock.now()), trustDevice: true });
    expect(step.status).toBe(200);
    const staleSetup = await createUser(t, { clientId: client.id });
    const setupAnswer = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(await loginToken(t, staleSetup.email)))
      .send({ password: DEFAULT_PASSWORD });
    expect(setupAnswer.status).toBe(201);

    t.clock.advance(31 * DAY_MS);
    const fresh = await createUser(t, { clientId: client.id });
    const freshToken = await loginToken(t, fresh.email);
    const freshSetup = await t.http
      .post('/me/two-factor/setup')
      .set(bearer(freshToken))
      .send({ password: DEFAULT_PASSWORD });
    expect(freshSetup.status).toBe(201);

    const { counts } = await runOnce(t);

    expect(counts.errors).toBe(0);
    expect(counts.sessionsRemoved).toBe(3);
    expect(counts.setupsCleared).toBe(1);
    expect(counts.trustedDevicesRemoved).toBe(1);
    const sessions = t.dataSource.getRepository(Session);
    expect(await sessions.countBy({ userId: In([withDevice.id, staleSetup.id]) })).toBe(0);
    expect(await sessions.countBy({ userId: fresh.id })).toBe(1);
    expect((await t.http.get('/me').set(bearer(freshToken))).status).toBe(200);
    expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId: withDevice.id })).toBe(
      0,
    );
    const credentials = t.dataSource.getRepository(TwoFactorCredential);
    expect(await credentials.findOneByOrFail({ userId: staleSetup.id })).toMatchObject({
      pendingSecretCiphertext: null,
      pendingExpiresAt: null,
    });
    expect(
      (await credentials.findOneByOrFail({ userId: fresh.id })).pendingSecretCiphertext,
    ).not.toBeNull();
    const kept = await credentials.findOneByOrFail({ userId: withDevice.id });
    expect(kept.secretCiphertext).not.toBeNull();
    expect(kept.activatedAt).not.toBeNull();
  });

  it('runs from the command line and prints its counts', async () => {
    const lines: string[] = [];
    const out = (line: string) => lines.push(line);

    await runEnforcementCommand.run(t.app, {}, out);
    await sendMailCommand.run(t.app, {}, out);
    await requeueFailedMailCommand.run(t.app, {}, out);

    expect(lines[0]).toMatch(
      /^reminders: \d+ queued, \d+ skipped, 0 errors \(\d+ users checked\)$/,
    );
    expect(lines[1]).toMatch(
      /^removed: \d+ sessions, \d+ setups, \d+ trusted devices; 0 failed steps$/,
    );
    expect(lines[2]).toMatch(
      /^mail: \d+ sent, 0 to retry, 0 failed, 0 released; 0 waiting, 0 failed in all$/,
    );
    expect(lines[3]).toBe('0 failed mails requeued');
  });

  it('registers no timers when jobs are off', () => {
    expect(() => t.get(SchedulerRegistry)).toThrow();
  });
});

describe('with jobs enabled', () => {
  let smtp: SmtpListener;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpListener();
    t = await createTestApp({
      env: { SMTP_URL: smtp.url, JOBS_ENABLED: 'true', MAIL_POLL_SECONDS: '1' },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  it('schedules the enforcement job hourly and delivers queued mail by itself', async () => {
    const cron = t.get(SchedulerRegistry).getCronJob(ENFORCEMENT_CRON_NAME);
    expect(cron.cronTime.source).toBe(ENFORCEMENT_CRON);

    await t.get(TransactionRunner).run((tx) =>
      t.get(MailOutboxService).enqueue(tx, 'two-factor-locked', 'poll@example.com', {
        name: 'Poll',
        lockedUntil: t.clock.now().toISOString(),
      }),
    );

    for (
      let waited = 0;
      waited < 10_000 && smtp.to('poll@example.com').length === 0;
      waited += 100
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(smtp.to('poll@example.com')).toHaveLength(1);
  });
});
