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
