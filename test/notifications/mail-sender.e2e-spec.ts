import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { In } from 'typeorm';

import { Client } from '../../src/clients/client.entity';
import { MINUTE_MS, HOUR_MS } from '../../src/common/time';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { MailOutbox, MAIL_TEMPLATES } from '../../src/notifications/mail-outbox.entity';
import { MailOutboxService } from '../../src/notifications/mail-outbox.service';
import { RETRY_WINDOW_MS } from '../../src/notifications/mail-retry-policy';
import { CLAIM_TTL_MS, MailSenderService } from '../../src/notifications/mail-sender.service';
import { TEMPLATES_DIR } from '../../src/notifications/mailer-options';
import { TwoFactorService } from '../../src/two-factor/two-factor.service';
import { User } from '../../src/users/user.entity';
import { activateTwoFactor, createClient, createUser, loginToken } from '../support/factories';
import { captureLogs, flushMail, outboxRowsFor } from '../support/mail';
import { SmtpListener, startSmtpListener } from '../support/smtp-listener';
import { TestApp, createTestApp } from '../support/test-app';

/** A user with active 2FA (which queues the activation mail) in a fresh client. */
async function userWithTwoFactor(t: TestApp, name = 'Ada Lovelace'): Promise<[User, Client]> {
  const client = await createClient(t);
  const user = await createUser(t, { clientId: client.id, name });
  await activateTwoFactor(t, await loginToken(t, user.email));

  return [user, client];
}

async function resetByAdmin(t: TestApp, user: User, client: Client): Promise<void> {
  const admin = await createUser(t, { clientId: client.id, admin: true });
  await t
    .get(TwoFactorService)
    .resetForUser(user, client, { userId: admin.id, clientId: client.id, ip: null });
}

/** Queues one mail directly, for tests about the sender alone. */
async function enqueue(t: TestApp, recipient: string, name = 'Grace'): Promise<number> {
  return t.get(TransactionRunner).run((tx) =>
    t.get(MailOutboxService).enqueue(tx, 'two-factor-locked', recipient, {
      name,
      lockedUntil: t.clock.now().toISOString(),
    }),
  );
}

function row(t: TestApp, id: number): Promise<MailOutbox> {
  return t.dataSource.getRepository(MailOutbox).findOneByOrFail({ id });
}

describe('mail sender over SMTP', () => {
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
  afterEach(async () => {
    // Every test leaves SMTP up and nothing due behind it.
    await smtp.start();
    await flushMail(t);
  });

  it('sends a mail written by a 2FA change, with a text and an HTML part', async () => {
    const [user] = await userWithTwoFactor(t, 'Ada <b>Lovelace</b>');

    const counts = await flushMail(t);

    expect(counts.sent).toBeGreaterThanOrEqual(1);
    const [mail] = smtp.to(user.email);
    expect(smtp.to(user.email)).toHaveLength(1);
    expect(mail.subject).toBe('Two-factor authentication is on');
    expect(mail.text).toContain('Hello Ada <b>Lovelace</b>,');
    expect(mail.text).toMatch(
      /activated for your Backoffice account on \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect(mail.html).toContain('Ada &lt;b&gt;Lovelace&lt;/b&gt;');
    expect(mail.html).toContain('This message was sent by the Backoffice');
    const [stored] = await outboxRowsFor(t, user.email);
    expect(stored).toMatchObject({ status: 'sent', attempts: 1, claimToken: null });
    expect(stored.sentAt).toEqual(t.clock.now());
  });

  it('delivers mail queued while SMTP was down once it is back, none lost, none doubled', async () => {
    const [user, client] = await userWithTwoFactor(t);
    await flushMail(t);
    await smtp.stop();

    await resetByAdmin(t, user, client);
    const whileDown = await flushMail(t);

    expect(whileDown).toMatchObject({ sent: 0, retried: 1, failed: 0 });
    const [, reset] = await outboxRowsFor(t, user.email);
    expect(reset).toMatchObject({
      template: 'two-factor-reset-by-admin',
      status: 'pending',
      attempts: 1,
    });
    expect(reset.lastError).toMatch(/^ECONNECTION|^ESOCKET/);

    await smtp.start();
    expect(await flushMail(t)).toMatchObject({ sent: 0 });
    t.clock.advance(MINUTE_MS);
    expect(await flushMail(t)).toMatchObject({ sent: 1 });
    expect(await flushMail(t)).toMatchObject({ sent: 0, retried: 0 });

    const received = smtp.to(user.email).map((mail) => mail.subject);
    expect(received).toEqual([
      'Two-factor authentication is on',
      'Your two-factor authentication was reset',
    ]);
    expect(await row(t, reset.id)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('backs off exponentially, and after 72 hours marks the mail failed and logs an error', async () => {
    const recipient = 'backoff@example.com';
    await smtp.stop();
    const id = await enqueue(t, recipient);
    const created = t.clock.now().getTime();
    const logs = captureLogs();

    const delays: number[] = [];
    try {
      for (let attempt = 0; attempt < 200; attempt++) {
        const before = await row(t, id);
        if (before.status !== 'pending') {
          break;
        }
        t.clock.set(before.nextAttemptAt);
        await flushMail(t);
        const after = await row(t, id);
        if (after.status === 'pending') {
          delays.push(after.nextAttemptAt.getTime() - t.clock.now().getTime());
          // Not due before its time.
          t.clock.advance(delays[delays.length - 1] - 1);
          expect(await flushMail(t)).toMatchObject({ retried: 0, failed: 0 });
        }
      }
    } finally {
      logs.restore();
    }

    expect(delays.slice(0, 8)).toEqual([1, 2, 4, 8, 16, 32, 60, 60].map((m) => m * MINUTE_MS));
    expect(Math.max(...delays)).toBe(HOUR_MS);
    const failed = await row(t, id);
    expect(failed.status).toBe('failed');
    expect(t.clock.now().getTime()).toBe(created + RETRY_WINDOW_MS);
    expect(failed.attempts).toBe(delays.length + 1);
    const errors = logs.lines.filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].args[0]).toEqual({ outboxId: id, template: 'two-factor-locked' });
    expect(logs.lines.some((line) => line.text.includes(recipient))).toBe(false);
    expect((await t.http.get('/health')).body.mail.failed).toBeGreaterThanOrEqual(1);
  });

  it('marks a mail failed at once when the server refuses the recipient for good', async () => {
    const recipient = 'refused@example.com';
    smtp.refuse(recipient);
    const id = await enqueue(t, recipient);
    const logs = captureLogs();

    let counts;
    try {
      counts = await flushMail(t);
    } finally {
      logs.restore();
    }

    expect(counts).toMatchObject({ sent: 0, retried: 0, failed: 1 });
    expect(await row(t, id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'EENVELOPE 550 RCPT TO',
    });
    expect(smtp.to(recipient)).toHaveLength(0);
    expect(logs.lines.filter((line) => line.level === 'error').map((l) => l.args[0])).toEqual([
      { outboxId: id, template: 'two-factor-locked' },
    ]);
    expect(logs.lines.some((line) => line.text.includes(recipient))).toBe(false);
  });

  it('requeues failed mail, which then goes out once', async () => {
    const recipient = 'requeue@example.com';
    await smtp.stop();
    const id = await enqueue(t, recipient);
    t.clock.advance(RETRY_WINDOW_MS);
    await flushMail(t);
    expect(await row(t, id)).toMatchObject({ status: 'failed' });
    await smtp.start();
    expect(await flushMail(t)).toMatchObject({ sent: 0 });

    const failedBefore = await t.dataSource.getRepository(MailOutbox).countBy({ status: 'failed' });

    const requeued = await t.get(MailOutboxService).requeueFailed();

    expect(requeued).toBe(failedBefore);
    expect(await t.dataSource.getRepository(MailOutbox).countBy({ status: 'failed' })).toBe(0);
    expect(await row(t, id)).toMatchObject({ status: 'pending', attempts: 0 });
    await flushMail(t);
    expect(await row(t, id)).toMatchObject({ status: 'sent' });
    expect(smtp.to(recipient)).toHaveLength(1);
  });

  it('never sends a row twice when two senders run at once', async () => {
    const recipients = Array.from({ length: 45 }, (_, i) => `race-${i}@example.com`);
    for (const recipient of recipients) {
      await enqueue(t, recipient);
    }
    const sender = t.get(MailSenderService);

    const [a, b] = await Promise.all([sender.sendDue(), sender.sendDue()]);

    expect(a.sent + b.sent).toBe(45);
    for (const recipient of recipients) {
      expect(smtp.to(recipient)).toHaveLength(1);
    }
  });

  it('takes over the claim of a crashed sender once it expires', async () => {
    const recipient = 'crashed@example.com';
    const id = await enqueue(t, recipient);
    // An instance claims the row and dies before sending it.
    const stale = await t.get(MailOutboxService).claimDue(10, CLAIM_TTL_MS);
    expect(stale.mails.map((mail) => mail.id)).toContain(id);

    expect(await flushMail(t)).toMatchObject({ sent: 0 });
    t.clock.advance(CLAIM_TTL_MS);
    await flushMail(t);

    expect(smtp.to(recipient)).toHaveLength(1);
    // The late instance cannot record an outcome over the new one.
    const [mail] = stale.mails.filter((m) => m.id === id);
    expect(await t.get(MailOutboxService).markFailed(mail, stale.token, 'late')).toBe(false);
    expect(await row(t, id)).toMatchObject({ status: 'sent' });
  });

  it('gives back the claims it did not try when told to stop', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await enqueue(t, `stop-${i}@example.com`));
    }
    const smtpBefore = smtp.received.length;
    const stopAfterTwo = () => smtp.received.length - smtpBefore >= 2;

    const counts = await t.get(MailSenderService).sendDue({ shouldStop: stopAfterTwo });

    expect(counts.sent).toBe(2);
    expect(counts.released).toBe(3);
    expect(smtp.received.length - smtpBefore).toBe(2);
    const rows = await t.dataSource.getRepository(MailOutbox).findBy({ id: In(ids) });
    expect(rows.filter((r) => r.status === 'pending' && r.claimToken === null)).toHaveLength(3);
  });

  it('reports the backlog and failed mail on /health', async () => {
    await smtp.stop();
    const before = (await t.http.get('/health')).body.mail;
    await enqueue(t, 'health-1@example.com');
    await enqueue(t, 'health-2@example.com');
    smtp.refuse('health-3@example.com');

    const queued = await t.http.get('/health');

    expect(queued.status).toBe(200);
    expect(queued.body.mail).toEqual({ backlog: before.backlog + 2, failed: before.failed });
    await flushMail(t);
    // Waiting for a retry still counts as backlog.
    expect((await t.http.get('/health')).body.mail.backlog).toBe(before.backlog + 2);
    await smtp.start();
    const id = await enqueue(t, 'health-3@example.com');
    t.clock.advance(MINUTE_MS);
    await flushMail(t);
    expect((await row(t, id)).status).toBe('failed');
    expect((await t.http.get('/health')).body.mail).toEqual({
      backlog: before.backlog,
      failed: before.failed + 1,
    });
  });
});

describe('mail sender without SMTP_URL', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('writes each mail as an .eml file in DATA_DIR/mail', async () => {
    const [user, client] = await userWithTwoFactor(t, 'Edsger');
    await resetByAdmin(t, user, client);

    expect(await flushMail(t)).toMatchObject({ sent: 2, retried: 0, failed: 0 });

    const rows = await outboxRowsFor(t, user.email);
    const folder = join(t.dataDir, 'mail');
    expect(readdirSync(folder).sort()).toEqual(rows.map((r) => `${r.id}-${r.template}.eml`).sort());
    const reset = rows.find((r) => r.template === 'two-factor-reset-by-admin');
    const parsed = await simpleParser(
      readFileSync(join(folder, `${reset?.id}-two-factor-reset-by-admin.eml`)),
    );
    expect(parsed.subject).toBe('Your two-factor authentication was reset');
    expect(JSON.stringify(parsed.to)).toContain(user.email);
    expect(parsed.text).toContain('Hello Edsger,');
    expect(parsed.html).toContain('An administrator reset two-factor authentication');
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
  });
});

describe('mail templates', () => {
  it('has an HTML and a text template for every mail', () => {
    for (const template of MAIL_TEMPLATES) {
      expect(existsSync(join(TEMPLATES_DIR, `${template}.hbs`))).toBe(true);
      expect(existsSync(join(TEMPLATES_DIR, `${template}.text.hbs`))).toBe(true);
    }
  });
});
