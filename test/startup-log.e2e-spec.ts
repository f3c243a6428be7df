import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

// The service as `npm start` runs it (from the sources here), on SQLite in a fresh folder.
describe('the start-up log', () => {
  it('is structured from its first line: every line on standard output is JSON', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'backoffice-start-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      BOOTSTRAP_ADMIN_PASSWORD: 'a start-up password',
    };
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src/main.ts')],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

    try {
      const deadline = Date.now() + 90_000;
      while (!stdout.includes('successfully started') && Date.now() < deadline) {
        if (child.exitCode !== null) {
          throw new Error(`the service exited: ${stderr}`);
        }
        await new Promise((wait) => setTimeout(wait, 100));
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }

    const lines = stdout.split('\n').filter((line) => line !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const parsed = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(parsed[0].msg).toBe('Starting Nest application...');
    // The development key warning is logged while the application is assembled.
    expect(parsed).toContainEqual(
      expect.objectContaining({ level: 40, msg: expect.stringContaining('development key') }),
    );
  }, 120_000);
});
