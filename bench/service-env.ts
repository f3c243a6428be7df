import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Environment } from '../config/environment';

/**
 * The environment of a child process: this one's, without any variable the service reads
 * (so that a developer's settings do not leak into the figures), plus `vars`.
 */
export function childEnv(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const known = new Set(Object.keys(new Environment()));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!known.has(name) && name !== 'NODE_OPTIONS') {
      env[name] = value;
    }
  }
  for (const [name, value] of Object.entries(vars)) {
    if (value !== undefined) {
      env[name] = value;
    }
  }

  return env;
}

/**
 * How `npm start` runs the service, from package.json: its environment assignments and node
 * options (heap budget, malloc arenas) and the script. The bench starts the service, and runs
 * the job, the same way.
 */
export function startCommand(): {
  env: Record<string, string>;
  nodeArgs: string[];
  script: string;
} {
  const manifest = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = manifest.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) {
    const [name, ...value] = (words.shift() as string).split('=');
    env[name] = value.join('=');
  }
  const [program, ...args] = words;
  const script = args.pop();
  if (program !== 'node' || !script || args.some((arg) => !arg.startsWith('--'))) {
    throw new Error(`npm start is not "[VAR=value] node [--options] <script>": ${words.join(' ')}`);
  }

  return { env, nodeArgs: args, script: join(process.cwd(), script) };
}
