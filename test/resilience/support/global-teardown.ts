import { existsSync, readFileSync, rmSync } from 'node:fs';

import { figuresFile } from './figures';
import { STARTED_MARKER } from './global-setup';
import { mariadb } from './mariadb';

/** Prints every figure once more, together, and stops the MariaDB that the setup started. */
export default async function globalTeardown(): Promise<void> {
  const figures = existsSync(figuresFile()) ? readFileSync(figuresFile(), 'utf8') : '';
  if (figures.trim() !== '') {
    process.stdout.write(`\nResilience figures:\n${figures}\n`);
  }
  if (existsSync(STARTED_MARKER)) {
    rmSync(STARTED_MARKER);
    await mariadb.stop();
  }
}
