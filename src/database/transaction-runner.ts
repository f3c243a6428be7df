import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, EntityManager } from 'typeorm';

const MYSQL_DEADLOCK = 1213;
const MYSQL_LOCK_WAIT_TIMEOUT = 1205;
const MAX_ATTEMPTS = 3;
// Retried at once, two victims of one deadlock would meet again in the same order.
const RETRY_JITTER_MS = 20;

/**
 * Runs units of work in a transaction. Every write in the service goes through here.
 *
 * On SQLite, TypeORM shares one connection between all requests, so two open transactions
 * would interleave on it; a single promise chain serialises them.
 *
 * On MySQL transactions run at READ COMMITTED. Under InnoDB's default, REPEATABLE READ, a
 * statement that finds no row (deleting the recovery codes of a user who has none, say) still
 * locks the gap where such rows would go; two unrelated users' transactions then hold the same
 * gap and deadlock on their inserts. Every rule here rests on conditional updates and unique
 * keys, which hold at READ COMMITTED. A deadlock victim is still retried, after a short random
 * pause, since InnoDB may pick either of two racing conditional updates.
 */
@Injectable()
export class TransactionRunner {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {}

  get isSqlite(): boolean {
    return this.dataSource.options.type === 'better-sqlite3';
  }

  async run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.isSqlite) {
      return this.withDeadlockRetry(() => this.dataSource.transaction('READ COMMITTED', work));
    }

    const previous = this.tail;
    let release = (): void => undefined;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous.catch(() => undefined);
    try {
      return await this.dataSource.transaction(work);
    } finally {
      release();
    }
  }

  private async withDeadlockRetry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (tries >= MAX_ATTEMPTS || !isRetryable(error)) {
          throw error;
        }
        await sleep(Math.random() * RETRY_JITTER_MS * tries);
      }
    }
  }
}

function isRetryable(error: unknown): boolean {
  const errno = (error as { driverError?: { errno?: number } }).driverError?.errno;

  return errno === MYSQL_DEADLOCK || errno === MYSQL_LOCK_WAIT_TIMEOUT;
}

/** Rows changed by an UPDATE or DELETE, on both drivers. */
export function affectedRows(result: { affected?: number | null }): number {
  return result.affected ?? 0;
}
