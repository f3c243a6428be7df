import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { PasswordFailure } from '../auth/password-failure.entity';
import { Clock } from '../common/clock';
import { MINUTE_MS, addMs, secondsUntil } from '../common/time';
import { TransactionRunner, affectedRows } from '../database/transaction-runner';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { UsersException } from './users.exception';

export const PASSWORD_FAILURE_LIMIT = 10;
export const PASSWORD_LOCK_MS = 15 * MINUTE_MS;

export type PasswordCheck = { ok: true } | { ok: false; lockedNow: boolean };

/**
 * Checks passwords with a counter per normalised email that lives in the database, so every
 * instance sees it: 10 failures in a row lock password checks for that email for 15 minutes.
 * The counter exists whether or not the account does, so it reveals nothing.
 *
 * Each check takes its place in the count before the password is verified, by a conditional
 * UPDATE, so requests sent at once cannot have more than 10 passwords checked between locks.
 */
@Injectable()
export class PasswordAttemptsService {
  constructor(
    @InjectRepository(PasswordFailure) private readonly failures: Repository<PasswordFailure>,
    private readonly hasher: PasswordHasher,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  /** Throws 429 while the email is locked; the password is then not even checked. */
  async assertNotLocked(email: string): Promise<void> {
    const row = await this.failures.findOneBy({ email });
    const now = this.clock.now();
    if (row?.lockedUntil && row.lockedUntil > now) {
      throw UsersException.tooManyAttempts(secondsUntil(now, row.lockedUntil));
    }
  }

  /**
   * Verifies `password` for `email` (against a dummy hash when `user` is null or inactive) and
   * records the outcome. Returns whether it was right and whether this failure started a lock.
   */
  async check(email: string, user: User | null, password: string): Promise<PasswordCheck> {
    await this.reserveAttempt(email);
    const usable = user !== null && user.active;
    let matches: boolean;
    try {
      matches = await this.hasher.verify(usable ? user.passwordHash : null, password);
    } catch (error) {
      // Not checked (the hash queue is full, say): the attempt does not count.
      await this.releaseAttempt(email);
      throw error;
    }
    if (matches && usable) {
      await this.recordSuccess(email);

      return { ok: true };
    }

    return { ok: false, lockedNow: await this.recordFailure(email) };
  }

  // Counts the attempt up front, unless the email is locked or 10 attempts are already
  // counted (failed, or still being checked). Each statement is its own transaction: on MySQL,
  // INSERT IGNORE and UPDATE of one row in one transaction deadlock under concurrent logins.
  private async reserveAttempt(email: string): Promise<void> {
    const now = this.clock.now();
    await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .insert()
        .into(PasswordFailure)
        .values({ email, failures: 0, lockedUntil: null, updatedAt: now })
        .orIgnore()
        .execute(),
    );
    const reserved = await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .update(PasswordFailure)
        .set({ failures: () => 'failures + 1', updatedAt: now })
        .where('email = :email AND failures < :limit', { email, limit: PASSWORD_FAILURE_LIMIT })
        .andWhere('(locked_until IS NULL OR locked_until <= :now)', { now })
        .execute(),
    );
    if (affectedRows(reserved) === 1) {
      return;
    }
    const row = await this.failures.findOneBy({ email });
    // Not locked: 10 checks of this email are under way; they end within moments.
    const until = row?.lockedUntil && row.lockedUntil > now ? row.lockedUntil : now;
    throw UsersException.tooManyAttempts(secondsUntil(now, until));
  }

  private async releaseAttempt(email: string): Promise<void> {
    await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .update(PasswordFailure)
        .set({ failures: () => 'failures - 1' })
        .where('email = :email AND failures > 0', { email })
        .execute(),
    );
  }

  private async recordSuccess(email: string): Promise<void> {
    await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .update(PasswordFailure)
        .set({ failures: 0, updatedAt: this.clock.now() })
        .where('email = :email AND failures > 0', { email })
        .execute(),
    );
  }

  // The failure was counted when the attempt was reserved. The one that finds the count at
  // the limit starts the lock; the count starts again.
  private async recordFailure(email: string): Promise<boolean> {
    const now = this.clock.now();
    const locked = await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .update(PasswordFailure)
        .set({ failures: 0, lockedUntil: addMs(now, PASSWORD_LOCK_MS), updatedAt: now })
        .where('email = :email AND failures >= :limit', { email, limit: PASSWORD_FAILURE_LIMIT })
        .execute(),
    );

    return affectedRows(locked) === 1;
  }
}
