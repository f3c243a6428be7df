import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { validateEnvironment } from '../config/environment';
import { totpCode } from '../test/support/totp-reference';
import { HashRate, argon2HashRate } from './argon2-baseline';
import { benchEncryptionKeys, createBenchDatabase } from './database';
import { LoadFigures, RequestParts, runLoad } from './load';
import { NodeChild, freePort, rssMb, startNode, waitForHttp } from './processes';
import { BENCH_PASSWORD, Seeder, TwoFactorUser } from './seed';
import { childEnv, startCommand } from './service-env';

export const HTTP_PARTS = ['logins', 'me', 'code-steps'] as const;
export type HttpPart = (typeof HTTP_PARTS)[number];

export interface HttpSettings {
  parts: ReadonlySet<HttpPart>;
  /** Load per measured figure, in seconds. */
  seconds: number;
  /** Load before each measured figure, not counted. */
  warmSeconds: number;
  /** Connections of the bare route, GET /me and the code step. */
  connections: number;
  /** Connections of the login load: enough to keep every hashing slot busy. */
  loginConnections: number;
  loginUsers: number;
  cores: number;
  serverUrl?: string;
  /** Where the children write their output (and CPU profiles, when profiling). */
  logDir: string;
  profile: boolean;
  say: (line: string) => void;
}

export interface HttpFigures {
  database: string;
  argon2?: { before: HashRate; after: HashRate; perSecond: number };
  logins?: LoadFigures;
  bare?: { before: LoadFigures; after: LoadFigures; perSecond: number };
  /** The service's HTTP stack around a trivial public route: a breakdown, not a baseline. */
  stack?: LoadFigures;
  me?: LoadFigures;
  codeSteps?: LoadFigures & { prepared: number };
  rss: { idleMb: number; underLoadMaxMb: number };
}

const CODE_STEP_WARM_SESSIONS = 2000;
const MAX_CODE_STEP_SESSIONS = 60_000;
const MIN_RAMP_UP_ALLOWANCE_SECONDS = 15;

/**
 * Starts the built service on a database of its own, seeds it, and loads it: logins, GET /me
 * and the code step, each next to its baseline (argon2 hashes in this process, the bare NestJS
 * route in a child of its own), measured just before and after.
 */
export async function measureHttp(settings: HttpSettings): Promise<HttpFigures> {
  const { say } = settings;
  const database = await createBenchDatabase(settings.serverUrl, 'http');
  const [servicePort, barePort, stackPort] = [await freePort(), await freePort(), await freePort()];
  const vars = {
    NODE_ENV: 'development',
    PORT: String(servicePort),
    ...database.env,
    LOG_LEVEL: 'warn',
    JOBS_ENABLED: 'false',
    // Far above the production ceiling of 100, which validation refuses in production.
    LOGIN_RATE_LIMIT: '100000',
    TWO_FACTOR_ENCRYPTION_KEYS: benchEncryptionKeys(),
    BOOTSTRAP_ADMIN_EMAIL: 'bench-admin@bench.example',
    BOOTSTRAP_ADMIN_PASSWORD: 'bench admin password',
  };
  const nodeArgs = (name: string) =>
    settings.profile
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${settings.logDir}`,
          `--cpu-prof-name=${name}.cpuprofile`,
          '--require',
          join(__dirname, 'exit-on-sigterm.js'),
        ]
      : [];
  const children: NodeChild[] = [];
  let seeder: Seeder | undefined;
  try {
    say(`service: ${database.describe}, port ${servicePort}, as npm start runs it`);
    const start = startCommand();
    const service = startNode({
      name: 'service',
      script: start.script,
      env: childEnv({ ...start.env, ...vars }),
      logFile: join(settings.logDir, 'service.log'),
      nodeArgs: [...start.nodeArgs, ...nodeArgs('service')],
    });
    children.push(service);
    const bare = startNode({
      name: 'bare NestJS app',
      script: join(__dirname, 'bare-app.js'),
      env: childEnv({ PORT: String(barePort) }),
      logFile: join(settings.logDir, 'bare-app.log'),
      nodeArgs: nodeArgs('bare-app'),
    });
    children.push(bare);
    const stack = startNode({
      name: 'HTTP stack app',
      script: join(__dirname, 'stack-app.js'),
      env: childEnv({
        ...start.env,
        NODE_ENV: 'development',
        PORT: String(stackPort),
        LOG_LEVEL: vars.LOG_LEVEL,
        DATA_DIR: vars.DATA_DIR,
      }),
      logFile: join(settings.logDir, 'stack-app.log'),
      nodeArgs: [...start.nodeArgs, ...nodeArgs('stack-app')],
    });
    children.push(stack);
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    const bareUrl = `http://127.0.0.1:${barePort}`;
    const stackUrl = `http://127.0.0.1:${stackPort}`;
    await waitForHttp(`${serviceUrl}/health`, service);
    await waitForHttp(`${bareUrl}/bare`, bare);
    await waitForHttp(`${stackUrl}/stack`, stack);

    const seeding = await Seeder.open(validateEnvironment({ ...vars, LOG_LEVEL: 'silent' }));
    seeder = seeding;
    say(`seeding ${settings.loginUsers} password users and ${settings.connections} 2FA sessions`);
    const loginUsers = await seeding.createUsers(settings.loginUsers, 'login');
    const meUsers = await seeding.activateTwoFactor(
      await seeding.createUsers(settings.connections, 'me'),
    );
    const meTokens = await seeding.issueSessions(meUsers, 'authenticated');
    await sleep(1000);
    const idleMb = rssMb(service.pid) ?? 0;
    say(`service RSS idle: ${idleMb.toFixed(0)} MB`);
    let underLoadMaxMb = 0;
    const load = async (
      label: string,
      target: 'service' | 'bare' | 'stack',
      options: Omit<Parameters<typeof runLoad>[0], 'url' | 'rssPid'>,
    ): Promise<LoadFigures> => {
      const result = await runLoad({
        ...options,
        url: { service: serviceUrl, bare: bareUrl, stack: stackUrl }[target],
        rssPid: { service: service.pid, bare: bare.pid, stack: stack.pid }[target],
      });
      if (target === 'service') {
        underLoadMaxMb = Math.max(underLoadMaxMb, result.rssMaxMb ?? 0);
      }
      say(
        `${label}: ${result.perSecond.toFixed(1)}/s, p50 ${result.latencyMs.p50} ms, ` +
          `p99 ${result.latencyMs.p99} ms, ${result.ok} ok of ${result.requests}` +
          `${describeStatuses(result)}; ramp-up ${(result.rampUp.ms / 1000).toFixed(1)} s ` +
          `(first answers up to ${result.rampUp.maxLatencyMs} ms); ` +
          `RSS up to ${(result.rssMaxMb ?? 0).toFixed(0)} MB; ` +
          `${(result.cpuMsPerAnswer ?? 0).toFixed(2)} ms CPU per answer`,
      );

      return result;
    };

    const figures: HttpFigures = {
      database: database.describe,
      rss: { idleMb, underLoadMaxMb: 0 },
    };

    // Password logins: many users, 2FA off, each answer a new session.
    if (settings.parts.has('logins')) {
      let loginIndex = 0;
      const loginLoad = {
        method: 'POST' as const,
        path: '/auth/login',
        connections: settings.loginConnections,
        next: (): RequestParts => {
          const user = loginUsers[loginIndex++ % loginUsers.length];

          return { body: JSON.stringify({ email: user.email, password: BENCH_PASSWORD }) };
        },
      };
      await load('logins (warm-up)', 'service', { ...loginLoad, seconds: settings.warmSeconds });
      const before = await argon2HashRate(settings.seconds / 2, settings.cores);
      say(`argon2id: ${before.perSecond.toFixed(1)} hashes/s, ${settings.cores} at once`);
      figures.logins = await load('logins', 'service', { ...loginLoad, seconds: settings.seconds });
      const after = await argon2HashRate(settings.seconds / 2, settings.cores);
      say(`argon2id: ${after.perSecond.toFixed(1)} hashes/s, ${settings.cores} at once`);
      figures.argon2 = { before, after, perSecond: (before.perSecond + after.perSecond) / 2 };
    }
    if (!settings.parts.has('me') && !settings.parts.has('code-steps')) {
      figures.rss.underLoadMaxMb = underLoadMaxMb;

      return figures;
    }

    // The bare route before and after GET /me and the code step, with the same settings.
    const bareLoad = {
      method: 'GET' as const,
      path: '/bare',
      connections: settings.connections,
    };
    await load('bare route (warm-up)', 'bare', { ...bareLoad, seconds: settings.warmSeconds });
    const bareBefore = await load('bare route', 'bare', { ...bareLoad, seconds: settings.seconds });

    if (settings.parts.has('me')) {
      const stackLoad = { ...bareLoad, path: '/stack' };
      await load('HTTP stack (warm-up)', 'stack', { ...stackLoad, seconds: settings.warmSeconds });
      figures.stack = await load('HTTP stack', 'stack', {
        ...stackLoad,
        seconds: settings.seconds,
      });

      let meIndex = 0;
      const meLoad = {
        method: 'GET' as const,
        path: '/me',
        connections: settings.connections,
        next: (): RequestParts => ({
          headers: { authorization: `Bearer ${meTokens[meIndex++ % meTokens.length]}` },
        }),
      };
      await load('GET /me (warm-up)', 'service', { ...meLoad, seconds: settings.warmSeconds });
      figures.me = await load('GET /me', 'service', { ...meLoad, seconds: settings.seconds });
    }

    // The code step: one user per request, each with its own pending session and a code for
    // a step that user has not used, computed when the request leaves.
    if (settings.parts.has('code-steps')) {
      const codeStepLoad = async (label: string, count: number, seconds: number) => {
        const users = await seeding.activateTwoFactor(await seeding.createUsers(count, 'code'));
        const tokens = await seeding.issueSessions(users, 'pending');
        let index = 0;
        const result = await load(label, 'service', {
          method: 'POST',
          path: '/auth/two-factor',
          connections: settings.connections,
          seconds,
          next: () =>
            index < users.length ? codeStepRequest(users[index], tokens[index++]) : null,
        });

        return { ...result, prepared: count };
      };
      const warm = await codeStepLoad(
        'code steps (warm-up)',
        CODE_STEP_WARM_SESSIONS,
        settings.warmSeconds,
      );
      // Enough sessions for the ramp-up (which takes longer on a busy machine) and the
      // measured load at twice the warm-up's rate.
      const rampUpSeconds = Math.max(warm.rampUp.ms / 1000, MIN_RAMP_UP_ALLOWANCE_SECONDS);
      const prepared = Math.min(
        MAX_CODE_STEP_SESSIONS,
        Math.ceil(warm.perSecond * (settings.seconds + rampUpSeconds) * 2) +
          settings.connections * 2,
      );
      say(`seeding ${prepared} users with 2FA and a pending session each`);
      figures.codeSteps = await codeStepLoad('code steps', prepared, settings.seconds);
    }

    const bareAfter = await load('bare route', 'bare', { ...bareLoad, seconds: settings.seconds });
    figures.bare = {
      before: bareBefore,
      after: bareAfter,
      perSecond: (bareBefore.perSecond + bareAfter.perSecond) / 2,
    };
    figures.rss.underLoadMaxMb = underLoadMaxMb;

    return figures;
  } finally {
    await seeder?.close();
    for (const child of children) {
      await child.stop();
    }
    await database.drop();
  }
}

function codeStepRequest(user: TwoFactorUser, token: string): RequestParts {
  return {
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ code: totpCode(user.secret, new Date()) }),
  };
}

function describeStatuses(figures: LoadFigures): string {
  const others = Object.entries(figures.statuses).filter(([status]) => !status.startsWith('2'));
  const parts = others.map(([status, count]) => `${count} x ${status}`);
  if (figures.errors > 0) {
    parts.push(`${figures.errors} errors`);
  }
  if (figures.exhausted) {
    parts.push('prepared requests ran out');
  }
  if (!figures.steady) {
    parts.push('no steady state: some connection never got an answer');
  }

  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
