import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';

import { MIGRATIONS } from '../migrations';
import { ENTITIES } from '../src/database/entities';
import { bindSqliteParameters } from '../src/database/sqlite-parameters';
import { Environment, validateEnvironment } from './environment';

export const SQLITE_FILE = 'backoffice.sqlite';

/** TypeORM options for the validated environment: SQLite in DATA_DIR unless DB_URL is set. */
export function dataSourceOptions(env: Environment): DataSourceOptions {
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
      url: env.DB_URL.replace(/^mariadb:/, 'mysql:'),
      // Instants are UTC on the wire and in the columns, whatever the server's zone.
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: 3000,
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

/** The data source the TypeORM command line uses: the same validated values as the service. */
export default bindSqliteParameters(
  new DataSource(dataSourceOptions(validateEnvironment(process.env))),
);
