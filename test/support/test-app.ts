import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import type { DestinationStream } from 'pino';
import { DataSource } from 'typeorm';

import { Environment, validateEnvironment } from '../../config/environment';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { FakeClock } from './fake-clock';

export interface TestApp {
  app: INestApplication;
  http: ReturnType<typeof request>;
  clock: FakeClock;
  env: Environment;
  dataSource: DataSource;
  dataDir: string;
  /** Which database this run uses: the embedded SQLite or the MariaDB of DB_URL. */
  database: 'sqlite' | 'mysql';
  get<T>(type: abstract new (...args: never[]) => T): T;
  /**
   * Stops this application and starts another on the same database, data folder and clock,
   * with `env` on top of this one's variables (a restart with a changed configuration).
   */
  restart(env?: Record<string, string>): Promise<TestApp>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Variables on top of the test defaults (as strings, as the environment gives them). */
  env?: Record<string, string>;
  clock?: FakeClock;
  /** Receives the log lines (with LOG_LEVEL set in `env`; the default is silent). */
  logDestination?: DestinationStream;
}

/**
 * The real application (every module, guard, pipe and filter of main.ts) on a database of
 * its own: a fresh SQLite file, or a fresh MariaDB database when DB_URL is set.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'backoffice-test-'));
  const serverUrl = process.env.DB_URL;
  const database = serverUrl ? await createDatabase(serverUrl) : null;
  const variables = {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    JOBS_ENABLED: 'false',
    LOGIN_RATE_LIMIT: '10000',
    BOOTSTRAP_ADMIN_EMAIL: 'bootstrap@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: 'bootstrap password 1',
    ...(database ? { DB_URL: database.url } : {}),
    ...options.env,
  };

  return startApp({
    dataDir,
    database,
    variables,
    clock: options.clock ?? new FakeClock(),
    logDestination: options.logDestination,
  });
}

interface AppStorage {
  dataDir: string;
  database: { url: string; drop: () => Promise<void> } | null;
  variables: Record<string, string>;
  clock: FakeClock;
  logDestination?: DestinationStream;
}

async function startApp(storage: AppStorage): Promise<TestApp> {
  const { dataDir, database, variables, clock, logDestination } = storage;
  const env = validateEnvironment(variables);
  const module = AppModule.register({ env, clock, logDestination });
  const app = await NestFactory.create<NestExpressApplication>(module, {
    bodyParser: false,
    logger: false,
    abortOnError: false,
  });
  configureApp(app, env);
  await app.init();

  return {
    app,
    http: request(app.getHttpServer()),
    clock,
    env,
    dataSource: app.get(DataSource),
    dataDir,
    database: database ? 'mysql' : 'sqlite',
    get: (type) => app.get(type),
    restart: async (changes = {}) => {
      await app.close();

      return startApp({ ...storage, variables: { ...variables, ...changes } });
    },
    close: async () => {
      await app.close();
      if (database) {
        await database.drop();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function createDatabase(
  serverUrl: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(serverUrl.replace(/^mariadb:/, 'mysql:'));
  const name = `bo_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  url.pathname = `/${name}`;

  return {
    url: url.toString(),
    drop: async () => {
      const connection = await createConnection({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      });
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}
