import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { figuresFile } from './figures';
import { MARIADB_DIR, mariadb } from './mariadb';

export const STARTED_MARKER = join(MARIADB_DIR, 'started-by-suite');

/** Starts the suite's MariaDB unless it runs already, and checks that the service is built. */
export default async function globalSetup(): Promise<void> {
  if (!existsSync(resolve(__dirname, '../../../dist/src/main.js'))) {
    throw new Error('The resilience suite runs the built service: run `npm run build` first');
  }
  writeFileSync(figuresFile(), '');
  if (!(await mariadb.isRunning())) {
    await mariadb.start();
    writeFileSync(STARTED_MARKER, String(process.pid));
  }
}
