import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

const LOCK_WAIT_SECONDS = 60;

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
      const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS granted', [
        name,
        LOCK_WAIT_SECONDS,
      ])) as { granted: number | string | null }[];
      if (Number(rows[0]?.granted) !== 1) {
        throw new Error(`Could not take the database lock "${name}" in ${LOCK_WAIT_SECONDS}s`);
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
}
