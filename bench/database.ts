import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type DatabaseKind = 'sqlite' | 'mariadb';

/** A database of the bench's own: a fresh SQLite folder, or a fresh database on DB_URL's server. */
export interface BenchDatabase {
  kind: DatabaseKind;
  /** DATA_DIR always (key file, mail files), DB_URL on MariaDB. */
  env: { DATA_DIR: string; DB_URL?: string };
  /** Where it lives, for the report (no password). */
  describe: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(
  serverUrl: string | undefined,
  purpose: string,
): Promise<BenchDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `backoffice-bench-${purpose}-`));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  if (!serverUrl) {
    return {
      kind: 'sqlite',
      env: { DATA_DIR: dataDir },
      describe: `SQLite in ${dataDir}`,
      drop: () => Promise.resolve(removeDir()),
    };
  }

  const url = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const name = `bench_${purpose}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const connect = () =>
    createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    });
  const admin = await connect();
  try {
    await admin.query(
      `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;

  return {
    kind: 'mariadb',
    env: { DATA_DIR: dataDir, DB_URL: url.toString() },
    describe: `database ${name} on ${url.hostname}:${url.port || 3306}`,
    drop: async () => {
      const connection = await connect();
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
      removeDir();
    },
  };
}

/** A 32-byte key for TWO_FACTOR_ENCRYPTION_KEYS, shared by the service and the seeding. */
export function benchEncryptionKeys(): string {
  return `bench:${randomBytes(32).toString('base64')}`;
}
