import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Connection, createConnection } from 'mysql2/promise';

const run = promisify(execFile);

export const MARIADB_DIR =
  process.env.RESILIENCE_MARIADB_DIR ?? '/tmp/backoffice-resilience-mariadb';
export const MARIADB_PORT = Number(process.env.RESILIENCE_MARIADB_PORT ?? 3307);
const SCRIPT = resolve(__dirname, '../../../scripts/mariadb.sh');
const SERVER_URL = `mysql://backoffice:backoffice@127.0.0.1:${MARIADB_PORT}`;

/**
 * The suite's own MariaDB server, started with scripts/mariadb.sh (as CI does) on a port and
 * in a folder of its own, so that the tests may stop, freeze and restart it.
 */
export const mariadb = {
  async start(): Promise<void> {
    await run(SCRIPT, ['start'], { env: scriptEnv(), timeout: 300_000 });
  },

  async stop(): Promise<void> {
    await run(SCRIPT, ['stop'], { env: scriptEnv(), timeout: 60_000 });
  },

  async isRunning(): Promise<boolean> {
    try {
      await run(SCRIPT, ['status'], { env: scriptEnv(), timeout: 10_000 });

      return true;
    } catch {
      return false;
    }
  },

  pid(): number {
    return Number(readFileSync(join(MARIADB_DIR, 'mariadb.pid'), 'utf8').trim());
  },

  /** Freezes the server: connections stay open and nothing answers (SIGSTOP). */
  freeze(): void {
    process.kill(this.pid(), 'SIGSTOP');
  },

  thaw(): void {
    process.kill(this.pid(), 'SIGCONT');
  },

  /** A fresh database for one test file; its URL for the instances and a drop function. */
  async createDatabase(prefix: string): Promise<TestDatabase> {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    const admin = await createConnection(SERVER_URL);
    await admin.query(
      `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    await admin.end();

    return new TestDatabase(name, `${SERVER_URL}/${name}`);
  },
};

function scriptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, MARIADB_DIR, MARIADB_PORT: String(MARIADB_PORT) };
}

/** One database on the suite's server, with a lazily opened connection for direct SQL. */
export class TestDatabase {
  private connection?: Promise<Connection>;

  constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  /** Direct SQL (seeding, counting); reconnects after the server was stopped. */
  async query<T = Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
    try {
      return await this.queryOnce<T>(sql, values);
    } catch (error) {
      if (!isConnectionError(error)) {
        throw error;
      }
      await this.closeConnection();

      return this.queryOnce<T>(sql, values);
    }
  }

  async count(sql: string, values: unknown[] = []): Promise<number> {
    const rows = await this.query<{ n: number | string }>(sql, values);

    return Number(rows[0]?.n ?? 0);
  }

  async drop(): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS \`${this.name}\``);
    await this.closeConnection();
  }

  async closeConnection(): Promise<void> {
    const pending = this.connection;
    this.connection = undefined;
    if (pending) {
      await pending.then((c) => c.destroy()).catch(() => undefined);
    }
  }

  private async queryOnce<T>(sql: string, values: unknown[]): Promise<T[]> {
    this.connection ??= createConnection({ uri: this.url, timezone: 'Z', dateStrings: false });
    const connection = await this.connection.catch((error: unknown) => {
      this.connection = undefined;
      throw error;
    });
    const [rows] = await connection.query(sql, values);

    return rows as T[];
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;

  return (
    (typeof code === 'string' &&
      ['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(
        code,
      )) ||
    /closed state/.test(String((error as Error).message))
  );
}
