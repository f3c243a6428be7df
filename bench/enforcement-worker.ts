import 'reflect-metadata';

import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as argon2 from 'argon2';
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';

import { validateEnvironment } from '../config/environment';
import { AppModule } from '../src/app.module';
import { Client } from '../src/clients/client.entity';
import { Clock } from '../src/common/clock';
import { DAY_MS, HOUR_MS } from '../src/common/time';
import { EnforcementService } from '../src/enforcement/enforcement.service';
import { ARGON2_OPTIONS } from '../src/users/password-hasher';

/**
 * A child process of the bench, so that its RSS is the job's alone.
 *
 *   enforcement-worker.js seed --users N --out FILE   bulk-seeds N users in SQL
 *   enforcement-worker.js run --max-runs M --out FILE  runs EnforcementService.run() until a
 *                                                      run sends nothing (or M runs)
 *
 * Every event is a JSON line appended to FILE. Batch times come from the job's own log
 * lines: "Enforcement started" and one "Reminder batch done" per batch (debug level).
 */

const SEED_CHUNK = 100_000;

export type WorkerEvent =
  | { type: 'seeded'; users: number; dueUsers: number; dueReminders: number; seconds: number }
  | {
      type: 'batch';
      run: number;
      batch: number;
      users: number;
      sent: number;
      lastId: number;
      capped: boolean;
      ms: number;
      rssMb: number;
    }
  | {
      type: 'run';
      run: number;
      ms: number;
      usersChecked: number;
      sent: number;
      capped: boolean;
      errors: number;
      rssMb: number;
    };

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    users: { type: 'string' },
    'max-runs': { type: 'string' },
    out: { type: 'string' },
  },
});
const out = values.out ?? '/dev/stdout';
const emit = (event: WorkerEvent): void => appendFileSync(out, `${JSON.stringify(event)}\n`);
const rssMb = (): number => process.memoryUsage().rss / 1024 / 1024;

/** Sees the job's log lines and turns them into batch timings. */
class BatchListener implements LoggerService {
  run = 0;
  private mark = performance.now();

  log(message: unknown, ...rest: unknown[]): void {
    if (rest[0] === 'Enforcement started') {
      this.mark = performance.now();
    }
    void message;
  }

  debug(message: unknown, ...rest: unknown[]): void {
    if (rest[0] !== 'Reminder batch done') {
      return;
    }
    const now = performance.now();
    const line = message as {
      batch: number;
      users: number;
      sent: number;
      lastId: number;
      capped: boolean;
    };
    emit({ type: 'batch', run: this.run, ...line, ms: now - this.mark, rssMb: rssMb() });
    this.mark = now;
  }

  error(message: unknown, ...rest: unknown[]): void {
    process.stderr.write(`${JSON.stringify([message, ...rest])}\n`);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    if (rest[0] !== 'Reminder cap reached; the rest next run') {
      process.stderr.write(`${JSON.stringify([message, ...rest])}\n`);
    }
  }

  verbose(): void {}
}

async function main(): Promise<void> {
  const env = validateEnvironment(process.env);
  const listener = new BatchListener();
  const app = await NestFactory.createApplicationContext(AppModule.register({ env, jobs: false }), {
    logger: listener,
    abortOnError: false,
  });
  try {
    if (positionals[0] === 'seed') {
      await seed(app.get(DataSource), app.get(Clock).now(), Number(values.users));
    } else if (positionals[0] === 'run') {
      await runUntilDrained(app.get(EnforcementService), listener, Number(values['max-runs']));
    } else {
      throw new Error('usage: enforcement-worker.js seed|run ...');
    }
  } finally {
    await app.close();
  }
}

async function runUntilDrained(
  enforcement: EnforcementService,
  listener: BatchListener,
  maxRuns: number,
): Promise<void> {
  for (let run = 1; run <= maxRuns; run++) {
    listener.run = run;
    const started = performance.now();
    const outcome = await enforcement.run();
    if (!outcome.ran) {
      throw new Error('the enforcement run was skipped: the lease is held');
    }
    const { reminders, errors } = outcome.counts;
    emit({
      type: 'run',
      run,
      ms: performance.now() - started,
      usersChecked: reminders.usersChecked,
      sent: reminders.sent,
      capped: reminders.capped,
      errors: errors + reminders.errors,
      rssMb: rssMb(),
    });
    // A run that sends nothing has walked every user in the window: the backlog is drained.
    if (reminders.sent === 0) {
      return;
    }
  }
}

/**
 * N users in two clients, written by INSERT ... SELECT from a sequence. Every tenth user
 * (10%) belongs to the client that requires 2FA and has a deadline within the reminder
 * window (within a day: both reminders due; otherwise the 3-day one). Another 10% of that
 * client has a deadline 4 to 10 days ahead (not due yet); the other 80% belong to a client
 * without the requirement and have no deadline.
 */
async function seed(dataSource: DataSource, now: Date, users: number): Promise<void> {
  const started = performance.now();
  const mysql = dataSource.options.type !== 'better-sqlite3';
  const stamp = sqlTime(now);
  const passwordHash = await argon2.hash('bench password 2026', ARGON2_OPTIONS);
  const clients = dataSource.getRepository(Client);
  const client = async (name: string, requireTwoFactor: boolean): Promise<number> => {
    const result = await clients.insert({
      name,
      kind: 'standard',
      groupId: null,
      requireTwoFactor,
      createdAt: now,
      updatedAt: now,
    });

    return Number((result.identifiers[0] as { id: number }).id);
  };
  const requiring = await client('Enforcement, requires 2FA', true);
  const plain = await client('Enforcement, no requirement', false);

  // Offsets in seconds from now, scattered by a multiplicative hash of the user number so
  // that neighbours differ: due deadlines 1 to 22 or 26 to 71 hours ahead (none near the
  // one-day point, so the reminders due stay the same while the runs take their time), later
  // ones 4 to 10 days ahead.
  const hour = HOUR_MS / 1000;
  const spread = `((n * 7919) % ${66 * hour})`;
  const dueOffset = `(${hour} + ${spread} + CASE WHEN ${spread} >= ${21 * hour} THEN ${4 * hour} ELSE 0 END)`;
  const laterSpan = (6 * DAY_MS) / 1000;
  const laterOffset = `(${(4 * DAY_MS) / 1000} + (n * 104729) % ${laterSpan})`;
  const addSeconds = (offset: string) =>
    mysql
      ? `TIMESTAMPADD(SECOND, ${offset}, ?)`
      : `strftime('%Y-%m-%d %H:%M:%f', ?, '+' || ${offset} || ' seconds')`;
  const select = `
    SELECT CASE WHEN n % 10 IN (0, 5) THEN ${requiring} ELSE ${plain} END,
      ${mysql ? "CONCAT('enf-', n, '@bench.example')" : "'enf-' || n || '@bench.example'"},
      ${mysql ? "CONCAT('User ', n)" : "'User ' || n"},
      ?, '', 1, 0,
      CASE WHEN n % 10 = 0 THEN ${addSeconds(dueOffset)}
           WHEN n % 10 = 5 THEN ${addSeconds(laterOffset)} END,
      ?, ?`;
  const insert = `INSERT INTO users (client_id, email, name, password_hash, permissions, active,
      two_factor_exempt, two_factor_deadline, created_at, updated_at)`;
  for (let from = 1; from <= users; from += SEED_CHUNK) {
    const to = Math.min(users, from + SEED_CHUNK - 1);
    const source = mysql
      ? `FROM (SELECT seq AS n FROM seq_${from}_to_${to}) AS numbers`
      : `FROM (WITH RECURSIVE numbers(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM numbers WHERE n < ${to}) SELECT n FROM numbers)`;
    await dataSource.query(`${insert} ${select} ${source}`, [
      passwordHash,
      stamp,
      stamp,
      stamp,
      stamp,
    ]);
  }
  if (mysql) {
    // Fresh statistics, as a table that grew over time would have.
    await dataSource.query('ANALYZE TABLE users');
  }

  const [due] = await dataSource.query<{ users: number | string; reminders: number | string }[]>(
    `SELECT COUNT(*) AS users, SUM(CASE WHEN two_factor_deadline <= ? THEN 2 ELSE 1 END) AS reminders
       FROM users WHERE client_id = ? AND two_factor_deadline > ? AND two_factor_deadline <= ?`,
    [
      sqlTime(new Date(now.getTime() + DAY_MS)),
      requiring,
      stamp,
      sqlTime(new Date(now.getTime() + 3 * DAY_MS)),
    ],
  );
  emit({
    type: 'seeded',
    users,
    dueUsers: Number(due.users),
    dueReminders: Number(due.reminders),
    seconds: (performance.now() - started) / 1000,
  });
}

/** An instant as both drivers store datetime(3): `YYYY-MM-DD HH:MM:SS.mmm`, UTC. */
function sqlTime(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
