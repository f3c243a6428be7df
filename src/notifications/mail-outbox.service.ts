import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { EntityManager, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { addMs } from '../common/time';
import { TransactionRunner, affectedRows } from '../database/transaction-runner';
import { MailOutbox, MailTemplate } from './mail-outbox.entity';

export type MailPayload = Record<string, string | number | boolean | null>;

/** Rows one sender took: they are its to send until `expiresAt`, then anyone's again. */
export interface MailClaim {
  token: string;
  expiresAt: Date;
  mails: MailOutbox[];
}

// A row is free to take when it is due and nobody holds a live claim on it.
const CLAIMABLE =
  "status = 'pending' AND next_attempt_at <= :now AND (claim_token IS NULL OR claim_expires_at <= :now)";

/**
 * The mail outbox. Mail is written inside the caller's transaction, so a mail exists exactly
 * when the change it reports was committed; requests never send. Senders take rows by a
 * conditional update with a claim token and expiry, so several instances never send the same
 * row at once, and the claims of a crashed one lapse and are taken again.
 */
@Injectable()
export class MailOutboxService {
  constructor(
    @InjectRepository(MailOutbox) private readonly outbox: Repository<MailOutbox>,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async enqueue(
    manager: EntityManager,
    template: MailTemplate,
    recipient: string,
    payload: MailPayload,
  ): Promise<number> {
    const now = this.clock.now();
    const result = await manager.getRepository(MailOutbox).insert({
      template,
      recipient,
      payload: JSON.stringify(payload),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      claimToken: null,
      claimExpiresAt: null,
      lastError: null,
      createdAt: now,
      sentAt: null,
    });

    return Number((result.identifiers[0] as { id: number }).id);
  }

  /** Takes up to `limit` due rows for `ttlMs`, oldest due first. */
  async claimDue(limit: number, ttlMs: number): Promise<MailClaim> {
    const token = randomUUID();
    const now = this.clock.now();
    const expiresAt = addMs(now, ttlMs);

    const mails = await this.transactions.run(async (tx) => {
      const candidates = await tx
        .createQueryBuilder(MailOutbox, 'mail')
        .select('mail.id', 'id')
        .where(CLAIMABLE, { now })
        .orderBy('mail.nextAttemptAt', 'ASC')
        .addOrderBy('mail.id', 'ASC')
        .limit(limit)
        .getRawMany<{ id: number | string }>();
      if (candidates.length === 0) {
        return [];
      }
      // The condition is checked again by the update itself: of two racing senders, each row
      // goes to exactly one.
      await tx
        .createQueryBuilder()
        .update(MailOutbox)
        .set({ claimToken: token, claimExpiresAt: expiresAt })
        .where('id IN (:...ids)', { ids: candidates.map((row) => Number(row.id)) })
        .andWhere(CLAIMABLE, { now })
        .execute();

      return tx.find(MailOutbox, { where: { claimToken: token }, order: { id: 'ASC' } });
    });

    return { token, expiresAt, mails };
  }

  async markSent(mail: MailOutbox, token: string): Promise<boolean> {
    return this.settle(mail, token, {
      status: 'sent',
      sentAt: this.clock.now(),
      lastError: null,
    });
  }

  async scheduleRetry(
    mail: MailOutbox,
    token: string,
    nextAttemptAt: Date,
    reason: string,
  ): Promise<boolean> {
    return this.settle(mail, token, { nextAttemptAt, lastError: reason });
  }

  async markFailed(mail: MailOutbox, token: string, reason: string): Promise<boolean> {
    return this.settle(mail, token, { status: 'failed', lastError: reason });
  }

  /** Keeps claimed rows this sender's until `expiresAt`; returns how many still were. */
  async renewClaim(token: string, ids: number[], expiresAt: Date): Promise<number> {
    if (ids.length === 0) {
      return 0;
    }
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(MailOutbox)
        .set({ claimExpiresAt: expiresAt })
        .where("id IN (:...ids) AND claim_token = :token AND status = 'pending'", { ids, token })
        .execute(),
    );

    return affectedRows(result);
  }

  /** Gives back claimed rows that were not tried, for another run to take at once. */
  async release(token: string, ids: number[]): Promise<number> {
    if (ids.length === 0) {
      return 0;
    }
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(MailOutbox)
        .set({ claimToken: null, claimExpiresAt: null })
        .where('id IN (:...ids) AND claim_token = :token', { ids, token })
        .execute(),
    );

    return affectedRows(result);
  }

  /**
   * Puts every failed row back in the queue, due now, with a fresh 72-hour retry window
   * (its creation time moves to now). Returns how many.
   */
  async requeueFailed(): Promise<number> {
    const now = this.clock.now();
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(MailOutbox)
        .set({
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
          claimToken: null,
          claimExpiresAt: null,
        })
        .where("status = 'failed'")
        .execute(),
    );

    return affectedRows(result);
  }

  /** Mail waiting to go out (due or waiting for a retry), and mail given up on: for /health. */
  async stats(): Promise<{ backlog: number; failed: number }> {
    const [backlog, failed] = await Promise.all([
      this.outbox.countBy({ status: 'pending' }),
      this.outbox.countBy({ status: 'failed' }),
    ]);

    return { backlog, failed };
  }

  // Every outcome counts one attempt and ends the claim; it applies only while the claim is
  // still this sender's, so a sender whose claim lapsed cannot overwrite a newer outcome.
  private async settle(
    mail: MailOutbox,
    token: string,
    changes: Partial<Pick<MailOutbox, 'status' | 'sentAt' | 'lastError' | 'nextAttemptAt'>>,
  ): Promise<boolean> {
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(MailOutbox)
        .set({
          ...changes,
          attempts: () => 'attempts + 1',
          claimToken: null,
          claimExpiresAt: null,
        })
        .where('id = :id AND claim_token = :token', { id: mail.id, token })
        .execute(),
    );

    return affectedRows(result) === 1;
  }
}
