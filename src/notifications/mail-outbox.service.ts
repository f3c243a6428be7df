import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { MailOutbox, MailTemplate } from './mail-outbox.entity';

export type MailPayload = Record<string, string | number | boolean | null>;

/**
 * Writes mail into the outbox inside the caller's transaction, so a mail exists exactly when
 * the change it reports was committed. The sender delivers it later; requests never send.
 */
@Injectable()
export class MailOutboxService {
  constructor(
    @InjectRepository(MailOutbox) private readonly outbox: Repository<MailOutbox>,
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

  /** Mail waiting to go out, and mail given up on: for /health. */
  async stats(): Promise<{ backlog: number; failed: number }> {
    const [backlog, failed] = await Promise.all([
      this.outbox.countBy({ status: 'pending' }),
      this.outbox.countBy({ status: 'failed' }),
    ]);

    return { backlog, failed };
  }
}
