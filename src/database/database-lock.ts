import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';

const LOCK_WAIT_MS = 60_000;
const LOCK_POLL_MS = 200;

/**
 * A lock across instances for start-up work (migrations, bootstrap). On MySQL it is a named
 * lock held by one connection; SQLite serves one process, whose file lock and busy timeout
 * already order writers.
 */
@Injectable()
export class DatabaseLock {
  constructor(private readonly dataSource: DataSource) {}

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.dataSource.options.type === 'better-sqlite3') {
      return work();
    }

    const runner = this.dataSource.createQueryRunner();
    try {
      // Asked without waiting, again and again: a statement that waits for the lock on the
      // server would outlast the deadline every statement has.
      const deadline = Date.now() + LOCK_WAIT_MS;
      while (!(await this.tryLock(runner.query.bind(runner), name))) {
        if (Date.now() >= deadline) {
          throw new Error(`Could not take the database lock "${name}" in ${LOCK_WAIT_MS} ms`);
        }
        await sleep(LOCK_POLL_MS);
      }
      try {
        return await work();
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [name]);
      }
    } finally {
      await runner.release();
    }
  }

  private async tryLock(
    query: (sql: string, parameters: unknown[]) => Promise<unknown>,
    name: string,
  ): Promise<boolean> {
    const rows = (await query('SELECT GET_LOCK(?, 0) AS granted', [name])) as {
      granted: number | string | null;
    }[];

    return Number(rows[0]?.granted) === 1;
  }
}
