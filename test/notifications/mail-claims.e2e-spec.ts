import { In } from 'typeorm';

import { MINUTE_MS, SECOND_MS } from '../../src/common/time';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { MailDeliveryService } from '../../src/notifications/mail-delivery.service';
import { MailOutbox } from '../../src/notifications/mail-outbox.entity';
import { MailOutboxService } from '../../src/notifications/mail-outbox.service';
import { CLAIM_TTL_MS } from '../../src/notifications/mail-sender.service';
import { flushMail } from '../support/mail';
import { SmtpListener, startSmtpListener } from '../support/smtp-listener';
import { TestApp, createTestApp } from '../support/test-app';

async function enqueue(t: TestApp, recipients: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const recipient of recipients) {
    ids.push(
      await t.get(TransactionRunner).run((tx) =>
        t.get(MailOutboxService).enqueue(tx, 'two-factor-locked', recipient, {
          name: 'Claimed',
          lockedUntil: t.clock.now().toISOString(),
        }),
      ),
    );
  }

  return ids;
}

describe('claims of the mail sender', () => {
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
  afterEach(() => jest.restoreAllMocks());

  it('sends the batch of a sender that died within a minute and a bit', async () => {
    const recipients = Array.from({ length: 20 }, (_, i) => `died-${i}@example.com`);
    await enqueue(t, recipients);
    // An instance claims a whole batch and is killed before it sends any of it.
    await t.get(MailOutboxService).claimDue(20, CLAIM_TTL_MS);

    t.clock.advance(MINUTE_MS + SECOND_MS);
    await flushMail(t);

    for (const recipient of recipients) {
      expect(smtp.to(recipient)).toHaveLength(1);
    }
  });

  it('keeps a slow batch its own past the claim time, renewing it before each send', async () => {
    const recipients = ['slow-1@example.com', 'slow-2@example.com', 'slow-3@example.com'];
    const ids = await enqueue(t, recipients);
    const delivery = t.get(MailDeliveryService);
    const deliver = delivery.deliver.bind(delivery);
    const competitor: number[] = [];
    // Each send takes 40 seconds; meanwhile another instance looks for due mail.
    jest.spyOn(delivery, 'deliver').mockImplementation(async (mail) => {
      t.clock.advance(40 * SECOND_MS);
      const other = await t.get(MailOutboxService).claimDue(20, CLAIM_TTL_MS);
      competitor.push(...other.mails.map((row) => row.id));

      return deliver(mail);
    });

    const counts = await flushMail(t);

    expect(counts.sent).toBe(3);
    expect(competitor.filter((id) => ids.includes(id))).toEqual([]);
    for (const recipient of recipients) {
      expect(smtp.to(recipient)).toHaveLength(1);
    }
    const rows = await t.dataSource.getRepository(MailOutbox).findBy({ id: In(ids) });
    expect(rows.every((row) => row.status === 'sent' && row.claimToken === null)).toBe(true);
  });
});
