import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

// Without a heap budget V8 sizes the heap from the host's memory and lets garbage reach
// about four times the live heap before a full collection: the service then sits at 300 MB
// under load on a machine with plenty of memory.
describe('the start command', () => {
  const start = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts.start;

  it('gives the service a heap budget', () => {
    expect(start).toMatch(/^node --max-old-space-size=\d+ dist\/src\/main\.js$/);
  });

  it('is the command the image runs', () => {
    const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];

    expect(cmd && (JSON.parse(cmd) as string[]).join(' ')).toBe(start);
  });
});
