import { DataSource } from 'typeorm';

import { bindSqliteParameters } from '../src/database/sqlite-parameters';
import { dataSourceOptions } from './data-source';
import { validateEnvironment } from './environment';

/**
 * The data source TypeORM's own command line takes (`npx typeorm -d dist/config/typeorm-cli.js
 * migration:generate ...`): the same validated values as the service, without the statement
 * deadline, since it runs migrations. Kept apart from data-source.ts so that importing the
 * options validates nothing at import time; the service validates once, in main.ts.
 */
export default bindSqliteParameters(
  new DataSource(dataSourceOptions(validateEnvironment(process.env), { statementDeadline: false })),
);
