import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

import { Clock } from '../common/clock';
import { addMs } from '../common/time';
import { JobLease } from './job-lease.entity';
import { TransactionRunner, affectedRows } from './transaction-runner';

/**
 * Named leases in the database, so one instance among several runs a job at a time. A lease
 * is taken by a conditional update (free or expired), so it works alike on MySQL and SQLite.
 */
@Injectable()
export class JobLeaseService {
  readonly holderId = randomUUID();

  constructor(
    private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  /** Takes the lease for `ttlMs`; returns a token to release it, or null when held elsewhere. */
  async tryAcquire(name: string, ttlMs: number): Promise<string | null> {
    const token = `${this.holderId}:${randomUUID()}`;
    const now = this.clock.now();

    return this.transactions.run(async (manager) => {
      await manager
        .createQueryBuilder()
        .insert()
        .into(JobLease)
        .values({ name, holder: null, expiresAt: now })
        .orIgnore()
        .execute();
      const result = await manager
        .createQueryBuilder()
        .update(JobLease)
        .set({ holder: token.slice(0, 64), expiresAt: addMs(now, ttlMs) })
        .where('name = :name', { name })
        .andWhere('(holder IS NULL OR expires_at <= :now)', { now })
        .execute();

      return affectedRows(result) === 1 ? token.slice(0, 64) : null;
    });
  }

  async release(name: string, token: string): Promise<void> {
    await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .update(JobLease)
        .set({ holder: null })
        .where('name = :name AND holder = :token', { name, token })
        .execute(),
    );
  }

  /** For tests and the command line: the current holder, if any. */
  async holder(name: string): Promise<string | null> {
    const lease = await this.dataSource.getRepository(JobLease).findOneBy({ name });

    return lease?.holder ?? null;
  }
}
