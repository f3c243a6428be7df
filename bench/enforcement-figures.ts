import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { USER_BATCH_SIZE } from '../src/enforcement/deadline-reminders.service';
import { benchEncryptionKeys, createBenchDatabase } from './database';
import type { WorkerEvent } from './enforcement-worker';
import { RssSampler, startNode, tail } from './processes';
import { childEnv, startCommand } from './service-env';

export interface EnforcementSettings {
  users: number;
  /** Runs at most: each run writes at most 10,000 reminders. */
  maxRuns: number;
  serverUrl?: string;
  logDir: string;
  profile: boolean;
  say: (line: string) => void;
}

type BatchEvent = Extract<WorkerEvent, { type: 'batch' }> & { sentInBatch: number };
type RunEvent = Extract<WorkerEvent, { type: 'run' }>;

export interface BatchPair {
  first: BatchEvent;
  last: BatchEvent;
  /** last.ms / first.ms */
  ratio: number;
  /**
   * The same over the medians of the first and the last tenth of the batches (three at
   * least): a single batch of 15 ms moves by half when another process takes the core.
   */
  firstMedianMs: number;
  lastMedianMs: number;
  medianRatio: number;
  /** How many batches each median is over. */
  medianOf: number;
}

export interface EnforcementFigures {
  database: string;
  users: number;
  dueUsers: number;
  dueReminders: number;
  seedSeconds: number;
  runs: RunEvent[];
  /** Every reminder due was sent, and a last run found nothing left to send. */
  drained: boolean;
  remindersSent: number;
  totalSeconds: number;
  /** Users read by the walks, per second of job time (all runs). */
  usersCheckedPerSecond: number;
  /** Full batches that sent a reminder to each of their users: the first and the last. */
  sending: BatchPair | null;
  /** The last run walked every user in the window with nothing left to send. */
  walk: (BatchPair & { usersPerSecond: number; seconds: number }) | null;
  rssMaxMb: number;
}

/**
 * The enforcement job over a bulk-seeded user table, in a child process of its own (its RSS
 * is the job's), run again and again as the hourly ticks would, until a run finds nothing left
 * to send.
 */
export async function measureEnforcement(
  settings: EnforcementSettings,
): Promise<EnforcementFigures> {
  const { say } = settings;
  const database = await createBenchDatabase(settings.serverUrl, 'enforcement');
  const eventsFile = join(settings.logDir, 'enforcement-events.jsonl');
  const start = startCommand();
  const env = childEnv({
    ...start.env,
    NODE_ENV: 'development',
    ...database.env,
    LOG_LEVEL: 'silent',
    JOBS_ENABLED: 'false',
    TWO_FACTOR_ENCRYPTION_KEYS: benchEncryptionKeys(),
    BOOTSTRAP_ADMIN_EMAIL: 'bench-admin@bench.example',
    BOOTSTRAP_ADMIN_PASSWORD: 'bench admin password',
  });
  const worker = (mode: string, args: string[], profile: boolean) =>
    startNode({
      name: `enforcement worker (${mode})`,
      script: join(__dirname, 'enforcement-worker.js'),
      args: [mode, ...args, '--out', eventsFile],
      env,
      logFile: join(settings.logDir, `enforcement-${mode}.log`),
      // The job runs in the service's process: the same environment and options as npm start.
      nodeArgs: [
        ...start.nodeArgs,
        ...(profile
          ? [
              '--cpu-prof',
              `--cpu-prof-dir=${settings.logDir}`,
              '--cpu-prof-name=enforcement.cpuprofile',
            ]
          : []),
      ],
    });
  const finish = async (child: ReturnType<typeof worker>): Promise<void> => {
    const code = await child.exited;
    if (code !== 0) {
      throw new Error(`${child.name} failed (${code}):\n${tail(child.logFile)}`);
    }
  };

  try {
    say(`enforcement: seeding ${settings.users.toLocaleString('en')} users, ${database.describe}`);
    await finish(worker('seed', ['--users', String(settings.users)], false));
    const seeded = readEvents(eventsFile).find((event) => event.type === 'seeded');
    if (!seeded || seeded.type !== 'seeded') {
      throw new Error('the enforcement worker reported no seeding');
    }
    say(
      `enforcement: seeded in ${seeded.seconds.toFixed(1)} s; ${seeded.dueUsers} users due ` +
        `${seeded.dueReminders} reminders`,
    );

    const runner = worker('run', ['--max-runs', String(settings.maxRuns)], settings.profile);
    const sampler = new RssSampler(runner.pid, 250);
    let rssMaxMb = 0;
    try {
      await finish(runner);
    } finally {
      rssMaxMb = sampler.stop().maxMb;
    }
    const events = readEvents(eventsFile);
    const runs = events.filter((event): event is RunEvent => event.type === 'run');
    const batches = withSentInBatch(
      events.filter(
        (event): event is Extract<WorkerEvent, { type: 'batch' }> => event.type === 'batch',
      ),
    );
    for (const run of runs) {
      say(
        `enforcement run ${run.run}: ${(run.ms / 1000).toFixed(1)} s, ${run.usersChecked} users ` +
          `checked, ${run.sent} reminders${run.capped ? ' (cap reached)' : ''}, ` +
          `RSS ${run.rssMb.toFixed(0)} MB`,
      );
    }

    const remindersSent = runs.reduce((sum, run) => sum + run.sent, 0);
    const totalMs = runs.reduce((sum, run) => sum + run.ms, 0);
    const checked = runs.reduce((sum, run) => sum + run.usersChecked, 0);
    const lastRun = runs[runs.length - 1];
    const drained = lastRun?.sent === 0 && remindersSent === seeded.dueReminders;

    const full = batches.filter((batch) => batch.users === USER_BATCH_SIZE && !batch.capped);
    const sendingBatches = full.filter((batch) => batch.sentInBatch >= batch.users);
    const walkBatches = lastRun?.sent === 0 ? full.filter((b) => b.run === lastRun.run) : [];

    return {
      database: database.describe,
      users: seeded.users,
      dueUsers: seeded.dueUsers,
      dueReminders: seeded.dueReminders,
      seedSeconds: seeded.seconds,
      runs,
      drained,
      remindersSent,
      totalSeconds: totalMs / 1000,
      usersCheckedPerSecond: totalMs > 0 ? checked / (totalMs / 1000) : 0,
      sending: pair(sendingBatches),
      walk:
        walkBatches.length > 0 && lastRun
          ? {
              ...(pair(walkBatches) as BatchPair),
              seconds: lastRun.ms / 1000,
              usersPerSecond: lastRun.usersChecked / (lastRun.ms / 1000),
            }
          : null,
      rssMaxMb,
    };
  } finally {
    await database.drop();
  }
}

function readEvents(file: string): WorkerEvent[] {
  if (!existsSync(file)) {
    return [];
  }

  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as WorkerEvent);
}

// The job reports reminders sent so far in the run; a batch's own are the difference.
function withSentInBatch(batches: Extract<WorkerEvent, { type: 'batch' }>[]): BatchEvent[] {
  return batches.map((batch, index) => {
    const previous = batches[index - 1];
    const before = previous && previous.run === batch.run ? previous.sent : 0;

    return { ...batch, sentInBatch: batch.sent - before };
  });
}

function pair(batches: BatchEvent[]): BatchPair | null {
  if (batches.length < 2) {
    return null;
  }
  const first = batches[0];
  const last = batches[batches.length - 1];
  const tenth = Math.max(3, Math.floor(batches.length / 10));
  const firstMedianMs = median(batches.slice(0, tenth).map((batch) => batch.ms));
  const lastMedianMs = median(batches.slice(-tenth).map((batch) => batch.ms));

  return {
    first,
    last,
    ratio: last.ms / first.ms,
    firstMedianMs,
    lastMedianMs,
    medianRatio: lastMedianMs / firstMedianMs,
    medianOf: Math.min(tenth, batches.length),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);

  return sorted[Math.floor(sorted.length / 2)];
}
