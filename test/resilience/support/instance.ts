import { ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { HttpAnswer, HttpRequest, send, sleep } from './http';

export const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const CLI = join(ROOT, 'dist/src/cli/main.js');

/** A free loopback port (the kernel picks it; the listener is closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One process of the built service (`node dist/src/main.js`) on a loopback port, with its own
 * data folder; its output goes to a log file in that folder.
 */
export class ServiceInstance {
  readonly dataDir: string;
  readonly logFile: string;
  readonly baseUrl: string;
  private child?: ChildProcess;
  private log?: WriteStream;
  private exited?: Promise<Exit>;

  constructor(
    readonly name: string,
    readonly port: number,
    private env: Record<string, string>,
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), `backoffice-${name}-`));
    this.logFile = join(this.dataDir, 'service.log');
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** Starts the process and waits until /health answers 200. */
  async start(extraEnv: Record<string, string> = {}, timeoutMs = 60_000): Promise<void> {
    this.env = { ...this.env, ...extraEnv };
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: this.processEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => resolveExit({ code, signal })),
    );

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new Error(`${this.name} exited during start:\n${this.tail()}`);
      }
      const health = await this.request({ path: '/health', timeoutMs: 2_000 });
      if (health.status === 200) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name} did not become healthy:\n${this.tail()}`);
      }
      await sleep(200);
    }
  }

  /** Runs the operator command line with this instance's configuration. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolveRun) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { cwd: ROOT, env: this.processEnv(), timeout: 120_000 },
        (error, stdout, stderr) => {
          const code = error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0;
          resolveRun({ code, stdout, stderr });
        },
      );
    });
  }

  private processEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '',
      DATA_DIR: this.dataDir,
      PORT: String(this.port),
      ...this.env,
    };
  }

  request(request: HttpRequest): Promise<HttpAnswer> {
    return send(this.baseUrl, request);
  }

  /** Sends a signal; resolves when the process has exited (or at once for SIGSTOP-like ones). */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<Exit> {
    if (!this.child || !this.exited) {
      throw new Error(`${this.name} was never started`);
    }
    if (!this.running) {
      return this.exited;
    }
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout(null), timeoutMs);
    });
    const exit = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (!exit) {
      this.child.kill('SIGKILL');
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
    }

    return exit;
  }

  /**
   * Stops it if it still runs (SIGKILL: teardown after a failure must not hang) and removes
   * its folder, log included, unless RESILIENCE_KEEP_LOGS is set.
   */
  async dispose(): Promise<void> {
    if (this.running) {
      await this.kill('SIGTERM', 10_000).catch(() => this.kill('SIGKILL'));
    }
    this.log?.end();
    if (!process.env.RESILIENCE_KEEP_LOGS) {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  /** The process output so far. */
  output(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Structured log lines of the process (pino JSON), unparseable lines left out. */
  logLines(): Record<string, unknown>[] {
    return this.output()
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  }

  tail(lines = 40): string {
    return this.output().split('\n').slice(-lines).join('\n');
  }
}
