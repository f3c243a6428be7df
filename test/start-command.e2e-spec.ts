import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

// Without a heap budget V8 sizes the heap from the host's memory and lets garbage reach
// about four times the live heap before a full collection; with several glibc arenas every
// thread that ever computed an argon2 hash keeps its 19 MiB. Either puts the service near
// 300 MB under load on a machine with plenty of memory. Semi-spaces of 8 MB instead of 16
// keep some 20 MB less resident.
describe('the start command', () => {
  const start = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts.start;
  const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');

  it('gives the service a heap budget, a small young generation and one malloc arena', () => {
    expect(start).toMatch(
      /^MALLOC_ARENA_MAX=1 node --max-old-space-size=\d+ --max-semi-space-size=\d+ dist\/src\/main\.js$/,
    );
  });

  it('is what the image runs', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));

    expect(cmd && (JSON.parse(cmd) as string[]).join(' ')).toBe(start.replace(/^\S+=\S+ /, ''));
    expect(runtime).toMatch(/^\s+MALLOC_ARENA_MAX=1$/m);
  });
});
