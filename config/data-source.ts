import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataSourceOptions } from 'typeorm';

import { MIGRATIONS } from '../migrations';
import { ENTITIES } from '../src/database/entities';
import { mysqlWithDeadlines } from '../src/database/mysql-deadlines';
import { Environment } from './environment';

export const SQLITE_FILE = 'backoffice.sqlite';

export interface DataSourceUse {
  /** Bound each statement by DB_TIMEOUT_MS (the service); off for migration tools. */
  statementDeadline?: boolean;
}

/** TypeORM options for the validated environment: SQLite in DATA_DIR unless DB_URL is set. */
export function dataSourceOptions(
  env: Environment,
  { statementDeadline = true }: DataSourceUse = {},
): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };

  if (env.DB_URL) {
    return {
      ...common,
      type: 'mysql',
      connectorPackage: 'mysql2',
      // A server that stops answering must not hold requests: bounded waits, then 503.
      driver: mysqlWithDeadlines({
        acquireMs: env.DB_TIMEOUT_MS,
        queryMs: statementDeadline ? env.DB_TIMEOUT_MS : null,
      }),
      url: env.DB_URL.replace(/^mariadb:/, 'mysql:'),
      // Instants are UTC on the wire and in the columns, whatever the server's zone.
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: env.DB_TIMEOUT_MS,
      extra: { connectionLimit: 20, enableKeepAlive: true },
    };
  }

  const dataDir = resolve(env.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  return {
    ...common,
    type: 'better-sqlite3',
    database: join(dataDir, SQLITE_FILE),
    enableWAL: true,
    timeout: 5000,
    prepareDatabase: (db: { pragma: (sql: string) => unknown }) => {
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
    },
  };
}
