import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { And, In, LessThanOrEqual, MoreThan, QueryFailedError, Repository } from 'typeorm';

import { Client } from '../clients/client.entity';
import { addMs } from '../common/time';
import { TransactionRunner } from '../database/transaction-runner';
import { DeadlineReminder, ReminderKind } from '../notifications/deadline-reminder.entity';
import { MailOutboxService } from '../notifications/mail-outbox.service';
import {
  TwoFactorCredential,
  isCredentialActive,
} from '../two-factor/two-factor-credential.entity';
import { isTwoFactorRequired } from '../two-factor/two-factor-policy';
import { User } from '../users/user.entity';
import { REMINDER_HORIZON_MS, dueReminderKinds } from './reminder-schedule';

/** Users read per step of the walk. */
export const USER_BATCH_SIZE = 1000;
/** Reminders one run writes at most; the rest wait for the next run, an hour later. */
export const MAX_REMINDERS_PER_RUN = 10_000;

export interface ReminderCounts {
  usersChecked: number;
  sent: number;
  /** Due but not sent: already sent by a racing run, or the user changed meanwhile. */
  skipped: number;
  errors: number;
  /** The run stopped at MAX_REMINDERS_PER_RUN. */
  capped: boolean;
}

type Outcome = 'sent' | 'skipped';

/**
 * Sends each due deadline reminder once ever: a row in deadline_reminders, unique on user,
 * deadline and kind, is written in the same transaction as its mail, so neither a rerun nor a
 * second instance can send it again.
 */
@Injectable()
export class DeadlineRemindersService {
  private readonly logger = new Logger(DeadlineRemindersService.name);

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(Client) private readonly clients: Repository<Client>,
    @InjectRepository(TwoFactorCredential)
    private readonly credentials: Repository<TwoFactorCredential>,
    @InjectRepository(DeadlineReminder) private readonly reminders: Repository<DeadlineReminder>,
    private readonly outbox: MailOutboxService,
    private readonly transactions: TransactionRunner,
  ) {}

  /**
   * Walks the users whose deadline falls within the reminder horizon, by key in batches
   * (never by offset, which skips rows when earlier ones change).
   */
  async sendDue(now: Date, batchSize = USER_BATCH_SIZE): Promise<ReminderCounts> {
    const counts: ReminderCounts = {
      usersChecked: 0,
      sent: 0,
      skipped: 0,
      errors: 0,
      capped: false,
    };

    let lastId = 0;
    for (let batchNumber = 1; ; batchNumber++) {
      const batch = await this.users.find({
        where: {
          id: MoreThan(lastId),
          active: true,
          twoFactorExempt: false,
          twoFactorDeadline: And(MoreThan(now), LessThanOrEqual(addMs(now, REMINDER_HORIZON_MS))),
        },
        order: { id: 'ASC' },
        take: batchSize,
      });
      if (batch.length === 0) {
        break;
      }
      lastId = batch[batch.length - 1].id;
      counts.usersChecked += batch.length;

      await this.sendForBatch(batch, now, counts);
      // One line per batch at debug level: with log timestamps, it shows how a long walk
      // progresses and whether later batches slow down.
      this.logger.debug(
        {
          batch: batchNumber,
          users: batch.length,
          lastId,
          sent: counts.sent,
          capped: counts.capped,
        },
        'Reminder batch done',
      );
      if (counts.capped || batch.length < batchSize) {
        break;
      }
    }

    return counts;
  }

  private async sendForBatch(batch: User[], now: Date, counts: ReminderCounts): Promise<void> {
    const required = await this.stillRequired(batch);
    const alreadySent = await this.sentKeys(batch);

    for (const user of batch) {
      const deadline = user.twoFactorDeadline;
      if (!deadline || !required.has(user.id)) {
        continue;
      }
      for (const kind of dueReminderKinds(deadline, now)) {
        if (alreadySent.has(reminderKey(user.id, deadline, kind))) {
          continue;
        }
        if (counts.sent >= MAX_REMINDERS_PER_RUN) {
          counts.capped = true;
          this.logger.warn(
            { cap: MAX_REMINDERS_PER_RUN },
            'Reminder cap reached; the rest next run',
          );

          return;
        }
        try {
          const outcome = await this.sendOne(user.id, deadline, kind, now);
          counts[outcome] += 1;
        } catch (error) {
          counts.errors += 1;
          this.logger.error(
            { userId: user.id, kind, error: error instanceof Error ? error.name : 'Error' },
            'Could not write a deadline reminder',
          );
        }
      }
    }
  }

  /**
   * Which users of the batch must still set up 2FA: the deadline exists only for required
   * users, but exemption, activation or client settings may have changed since it was set.
   */
  private async stillRequired(batch: User[]): Promise<Set<number>> {
    const userIds = batch.map((user) => user.id);
    const homeClients = await this.clients.findBy({
      id: In([...new Set(batch.map((user) => user.clientId))]),
    });
    const homeById = new Map(homeClients.map((client) => [client.id, client]));
    const groupIds = homeClients.filter((client) => client.kind === 'group').map((c) => c.id);
    const requiringMembers =
      groupIds.length === 0
        ? []
        : await this.clients.findBy({ groupId: In(groupIds), requireTwoFactor: true });
    const requiringMemberOf = new Map(requiringMembers.map((member) => [member.groupId, member]));
    const credentials = await this.credentials.findBy({ userId: In(userIds) });
    const activeUsers = new Set(
      credentials.filter((credential) => isCredentialActive(credential)).map((c) => c.userId),
    );

    const required = new Set<number>();
    for (const user of batch) {
      const homeClient = homeById.get(user.clientId);
      if (!homeClient) {
        continue;
      }
      // A cross-client user is required when any member client requires 2FA: they may act in
      // it at any time.
      const activeClient = requiringMemberOf.get(homeClient.id) ?? homeClient;
      const facts = { user, homeClient, activeClient, active: activeUsers.has(user.id) };
      if (user.active && isTwoFactorRequired(facts)) {
        required.add(user.id);
      }
    }

    return required;
  }

  private async sentKeys(batch: User[]): Promise<Set<string>> {
    const rows = await this.reminders.findBy({ userId: In(batch.map((user) => user.id)) });

    return new Set(rows.map((row) => reminderKey(row.userId, row.deadline, row.kind)));
  }

  private async sendOne(
    userId: number,
    deadline: Date,
    kind: ReminderKind,
    now: Date,
  ): Promise<Outcome> {
    try {
      return await this.transactions.run(async (tx): Promise<Outcome> => {
        // Read again inside the transaction: the user may have activated 2FA, been exempted
        // or given a new deadline since the batch was read.
        const user = await tx.findOneBy(User, { id: userId });
        const credential = await tx.findOneBy(TwoFactorCredential, { userId });
        if (
          !user?.active ||
          user.twoFactorExempt ||
          user.twoFactorDeadline?.getTime() !== deadline.getTime() ||
          isCredentialActive(credential)
        ) {
          return 'skipped';
        }
        await tx.insert(DeadlineReminder, { userId, deadline, kind, createdAt: now });
        await this.outbox.enqueue(tx, 'deadline-reminder', user.email, {
          name: user.name,
          deadline: deadline.toISOString(),
          kind,
        });

        return 'sent';
      });
    } catch (error) {
      // Another run wrote this reminder first; the unique key kept it to one.
      if (error instanceof QueryFailedError && /unique|duplicate/i.test(error.message)) {
        return 'skipped';
      }
      throw error;
    }
  }
}

function reminderKey(userId: number, deadline: Date, kind: ReminderKind): string {
  return `${userId}:${deadline.getTime()}:${kind}`;
}
