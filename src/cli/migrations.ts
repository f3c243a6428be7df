import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';

import { Environment } from '../../config/environment';
import { CoreModule } from '../common/core.module';
import { LoggingModule } from '../common/logging';
import { DatabaseModule } from '../database/database.module';

/**
 * `migration:run`: the database module alone, which applies pending migrations at start under
 * the migration lock, as the service does. No bootstrap, no jobs.
 */
export async function runMigrations(env: Environment, out: (line: string) => void): Promise<void> {
  @Module({
    imports: [CoreModule.register(env), LoggingModule.register(env), DatabaseModule],
  })
  class MigrationModule {}

  const app = await NestFactory.createApplicationContext(MigrationModule, {
    logger: ['error'],
    abortOnError: false,
  });
  try {
    const pending = await app.get(DataSource).showMigrations();
    out(pending ? 'migrations pending after the run' : 'database schema is up to date');
  } finally {
    await app.close();
  }
}
