import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock';
import { MINUTE_MS, addMs } from '../common/time';
import { MailDeliveryService } from './mail-delivery.service';
import { summarizeMailError } from './mail-error';
import { MailOutbox } from './mail-outbox.entity';
import { MailClaim, MailOutboxService } from './mail-outbox.service';
import { nextAttemptAt } from './mail-retry-policy';

/** Rows taken per claim; they are sent one after another. */
export const CLAIM_BATCH_SIZE = 20;
// The claim on the rest of a batch is renewed before each send, so it only has to outlast one
// send (at most its 20-second timeout) and the recording of its outcome. A sender that dies
// lets go of its rows within this time, and another instance sends them.
export const CLAIM_TTL_MS = MINUTE_MS;
/** Rows one call handles at most, so a large backlog cannot hold a run (or a shutdown) long. */
export const MAX_MAILS_PER_RUN = 500;

export interface MailSendCounts {
  sent: number;
  retried: number;
  failed: number;
  /** Claimed but not tried (a stop, or a claim that lapsed): back in the queue at once. */
  released: number;
}

export interface SendDueOptions {
  /** Checked before each mail; once true, the rest of the claim is released. */
  shouldStop?: () => boolean;
  maxMails?: number;
}

/**
 * Delivers due outbox mail: claims a batch, sends each row, and records the outcome. A failed
 * attempt is retried with exponential backoff for 72 hours from the mail's creation; a
 * permanent refusal, or the end of that window, marks the row failed. Logs name the outbox id
 * and template only, never the address or the content.
 */
@Injectable()
export class MailSenderService {
  private readonly logger = new Logger(MailSenderService.name);

  constructor(
    private readonly outbox: MailOutboxService,
    private readonly delivery: MailDeliveryService,
    private readonly clock: Clock,
  ) {}

  async sendDue(options: SendDueOptions = {}): Promise<MailSendCounts> {
    const shouldStop = options.shouldStop ?? (() => false);
    const maxMails = options.maxMails ?? MAX_MAILS_PER_RUN;
    const counts: MailSendCounts = { sent: 0, retried: 0, failed: 0, released: 0 };

    let handled = 0;
    while (handled < maxMails && !shouldStop()) {
      const claim = await this.outbox.claimDue(
        Math.min(CLAIM_BATCH_SIZE, maxMails - handled),
        CLAIM_TTL_MS,
      );
      if (claim.mails.length === 0) {
        break;
      }
      handled += claim.mails.length;
      await this.sendClaimed(claim, counts, shouldStop);
    }

    return counts;
  }

  private async sendClaimed(
    claim: MailClaim,
    counts: MailSendCounts,
    shouldStop: () => boolean,
  ): Promise<void> {
    for (const [index, mail] of claim.mails.entries()) {
      const rest = claim.mails.slice(index).map((row) => row.id);
      // Past its expiry the claim may already be someone else's: sending now could double.
      const lapsed = this.clock.now().getTime() >= claim.expiresAt.getTime();
      if (shouldStop() || lapsed) {
        counts.released += await this.outbox.release(claim.token, rest);

        return;
      }
      if (!(await this.renew(claim, rest))) {
        counts.released += await this.outbox.release(claim.token, rest);

        return;
      }
      try {
        await this.sendOne(mail, claim.token, counts);
      } catch (error) {
        // Recording the outcome failed (the database, most likely): the claim lapses and the
        // row is tried again, at worst once more than needed.
        this.logger.error(
          { outboxId: mail.id, template: mail.template, error: errorName(error) },
          'Could not record the outcome of a mail',
        );
      }
    }
  }

  // Extends the claim on the rows not sent yet; false when some of them are no longer ours.
  private async renew(claim: MailClaim, ids: number[]): Promise<boolean> {
    const expiresAt = addMs(this.clock.now(), CLAIM_TTL_MS);
    const renewed = await this.outbox.renewClaim(claim.token, ids, expiresAt);
    claim.expiresAt = expiresAt;

    return renewed === ids.length;
  }

  private async sendOne(mail: MailOutbox, token: string, counts: MailSendCounts): Promise<void> {
    try {
      await this.delivery.deliver(mail);
    } catch (error) {
      await this.recordFailure(mail, token, error, counts);

      return;
    }

    const context = { outboxId: mail.id, template: mail.template };
    if (await this.outbox.markSent(mail, token)) {
      counts.sent += 1;
      this.logger.log(context, 'Mail sent');
    } else {
      this.logger.warn(context, 'Mail sent after its claim lapsed; it may go out twice');
    }
  }

  private async recordFailure(
    mail: MailOutbox,
    token: string,
    error: unknown,
    counts: MailSendCounts,
  ): Promise<void> {
    const context = { outboxId: mail.id, template: mail.template };
    const { permanent, reason } = summarizeMailError(error);
    const failures = mail.attempts + 1;
    const retryAt = permanent ? null : nextAttemptAt(mail.createdAt, failures, this.clock.now());

    if (retryAt === null) {
      if (await this.outbox.markFailed(mail, token, reason)) {
        counts.failed += 1;
        this.logger.error(context, 'Mail given up; requeue with mail:requeue-failed');
      }

      return;
    }
    if (await this.outbox.scheduleRetry(mail, token, retryAt, reason)) {
      counts.retried += 1;
      this.logger.warn(
        { ...context, attempts: failures, nextAttemptAt: retryAt.toISOString() },
        'Mail delivery failed; will retry',
      );
    }
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}
