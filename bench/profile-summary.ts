import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Reads a V8 CPU profile (node --cpu-prof) and prints where the time went: self time by
 * function and by package (or product folder), and total time (self and callees) of the
 * product's own functions.
 *
 *   node dist/bench/bench/profile-summary.js <file.cpuprofile> [--top 25]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function place(url: string): string {
  if (url === '') {
    return '(native)';
  }
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) {
    return modules[1];
  }
  const product = /\/dist\/(?:bench\/)?(src\/[^/]+|config|migrations|bench)\//.exec(url);
  if (product) {
    return product[1];
  }

  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.split('/').slice(-2).join('/');

  return `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
}

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  const top = Number(values.top);
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }

  // Time per sample: the delta that follows it.
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  });
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const idleMs = [...selfMs.entries()]
    .filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)')
    .reduce((sum, [, ms]) => sum + ms, 0);

  const bySelf = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') {
      continue;
    }
    bySelf.set(label(node), (bySelf.get(label(node)) ?? 0) + ms);
    byPlace.set(place(node.callFrame.url), (byPlace.get(place(node.callFrame.url)) ?? 0) + ms);
    // Each product function on the stack gets the sample once, however deep the recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame && /\/dist\/(bench\/)?src\//.test(frame.callFrame.url)) {
        const name = label(frame);
        if (!seen.has(name)) {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
        }
      }
    }
  }

  const busy = totalMs - idleMs;
  const print = (title: string, entries: Map<string, number>, base: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(
        `${((100 * ms) / base).toFixed(1).padStart(6)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}\n`,
      );
    }
  };
  process.stdout.write(
    `${positionals[0]}: ${(totalMs / 1000).toFixed(1)} s sampled, ` +
      `${(busy / 1000).toFixed(1)} s busy (the rest idle)\n`,
  );
  print('self time by package or product folder (% of busy)', byPlace, busy);
  print('self time by function (% of busy)', bySelf, busy);
  print('total time of product functions (% of busy)', inclusive, busy);
}

main();
