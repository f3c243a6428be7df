import { Global, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';

import { dataSourceOptions } from '../../config/data-source';
import { Environment } from '../../config/environment';
import { DatabaseLock } from './database-lock';
import { ENTITIES } from './entities';
import { JobLeaseService } from './job-lease.service';
import { withoutQueryDeadline } from './mysql-deadlines';
import { bindSqliteParameters } from './sqlite-parameters';
import { Statements } from './statements';
import { TransactionRunner } from './transaction-runner';

export const MIGRATION_LOCK = 'backoffice:migrations';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [Environment],
      useFactory: (env: Environment) => ({
        ...dataSourceOptions(env),
        migrationsRun: false,
        // A database that is not there at start fails the start quickly and clearly; once
        // running, the pool reconnects by itself.
        retryAttempts: 2,
        retryDelay: 1000,
      }),
      dataSourceFactory: (options?: DataSourceOptions) =>
        Promise.resolve(bindSqliteParameters(new DataSource(options as DataSourceOptions))),
    }),
    TypeOrmModule.forFeature(ENTITIES),
  ],
  providers: [TransactionRunner, DatabaseLock, JobLeaseService, Statements],
  exports: [TypeOrmModule, TransactionRunner, DatabaseLock, JobLeaseService, Statements],
})
export class DatabaseModule implements OnModuleInit {
  private readonly logger = new Logger(DatabaseModule.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly lock: DatabaseLock,
  ) {}

  // Migrations run at start under a lock, so instances starting together apply them once.
  // Their statements have no deadline: DDL on a large table may take minutes.
  async onModuleInit(): Promise<void> {
    const applied = await this.lock.withLock(MIGRATION_LOCK, () =>
      withoutQueryDeadline(() => this.dataSource.runMigrations({ transaction: 'each' })),
    );
    if (applied.length > 0) {
      this.logger.log(`Applied migrations: ${applied.map((m) => m.name).join(', ')}`);
    }
  }
}
