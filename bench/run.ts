import 'reflect-metadata';

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { EnforcementFigures, measureEnforcement } from './enforcement-figures';
import { HTTP_PARTS, HttpFigures, measureHttp } from './http-figures';
import { Row, enforcementRows, formatTable, httpRows } from './report';

const USAGE = `Usage: npm run bench -- [options]

Starts the built service on loopback (SQLite in a fresh folder, or a fresh database on the
server of DB_URL when it is set), loads it with autocannon and prints one table, also written
as JSON under bench/results/.

  --smoke                  about 5 seconds of load per figure, 20,000 users for the job
  --seconds N              load per measured figure (default 15)
  --connections N          connections of the bare route, GET /me and the code step (100)
  --login-connections N    connections of the login load (16)
  --enforcement-users N    users seeded for the job (default 1,000,000 on MariaDB,
                           100,000 on SQLite)
  --only LIST              some figures only, comma-separated: logins, me, code-steps,
                           enforcement (a figure's baseline comes with it)
  --profile                write CPU profiles (--cpu-prof) of the service, the bare app
                           and the job next to the results
`;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new Error(`--${name} must be a positive integer`);
  }

  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      'login-connections': { type: 'string' },
      'enforcement-users': { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    say(USAGE);

    return;
  }
  const known = [...HTTP_PARTS, 'enforcement'];
  const only = new Set(values.only?.split(',').map((part) => part.trim()) ?? known);
  const unknown = [...only].filter((part) => !known.includes(part));
  if (unknown.length > 0) {
    throw new Error(`--only takes ${known.join(', ')}; not ${unknown.join(', ')}`);
  }
  const httpParts = new Set(HTTP_PARTS.filter((part) => only.has(part)));

  const serverUrl = process.env.DB_URL?.trim() || undefined;
  const databaseKind = serverUrl ? 'mariadb' : 'sqlite';
  const smoke = values.smoke;
  const seconds = positiveInteger(values.seconds, 'seconds', smoke ? 4 : 15);
  const cores = availableParallelism();
  const enforcementUsers = positiveInteger(
    values['enforcement-users'],
    'enforcement-users',
    smoke ? 20_000 : serverUrl ? 1_000_000 : 100_000,
  );
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(process.cwd(), 'bench', 'results');
  const logDir = join(resultsDir, `${stamp}-${databaseKind}`);
  mkdirSync(logDir, { recursive: true });

  const loadAtStart = loadavg();
  say(
    `bench on ${databaseKind}${smoke ? ' (smoke)' : ''}: ${cores} cores (${cpus()[0]?.model ?? '?'}), ` +
      `node ${process.version}, load average ${loadAtStart.map((v) => v.toFixed(2)).join(' ')}`,
  );
  say(`logs and profiles: ${relative(process.cwd(), logDir)}`);

  let http: HttpFigures | undefined;
  let enforcement: EnforcementFigures | undefined;
  if (httpParts.size > 0) {
    http = await measureHttp({
      parts: httpParts,
      seconds,
      warmSeconds: smoke ? 1 : 3,
      connections: positiveInteger(values.connections, 'connections', 100),
      loginConnections: positiveInteger(values['login-connections'], 'login-connections', 16),
      loginUsers: smoke ? 200 : 1000,
      cores,
      serverUrl,
      logDir,
      profile: values.profile,
      say,
    });
  }
  const loadAfterHttp = loadavg();
  if (only.has('enforcement')) {
    enforcement = await measureEnforcement({
      users: enforcementUsers,
      maxRuns: 100,
      serverUrl,
      logDir,
      profile: values.profile,
      say,
    });
  }
  const loadAtEnd = loadavg();

  const rows: Row[] = [
    ...(http ? httpRows(http, cores) : []),
    ...(enforcement ? enforcementRows(enforcement) : []),
  ];
  const table = formatTable(rows);
  const finishedAt = new Date();
  const file = join(resultsDir, `${stamp}-${databaseKind}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt,
        database: databaseKind,
        smoke,
        machine: {
          cores,
          cpu: cpus()[0]?.model ?? null,
          memoryMb: Math.round(totalmem() / 1024 / 1024),
          node: process.version,
          loadAverage: { start: loadAtStart, afterHttp: loadAfterHttp, end: loadAtEnd },
        },
        settings: { seconds, enforcementUsers },
        rows,
        http,
        enforcement,
      },
      null,
      2,
    )}\n`,
  );

  say('');
  say(table);
  say('');
  say(
    `load average (1, 5, 15 min): start ${loadAtStart.map((v) => v.toFixed(2)).join(' ')}, ` +
      `end ${loadAtEnd.map((v) => v.toFixed(2)).join(' ')}; ` +
      `written to ${relative(process.cwd(), file)}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
