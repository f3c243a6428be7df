import { DynamicModule, Module } from '@nestjs/common';

import type { DestinationStream } from 'pino';

import { Environment } from '../config/environment';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ClientsModule } from './clients/clients.module';
import { Clock } from './common/clock';
import { CoreModule } from './common/core.module';
import { LoggingModule } from './common/logging';
import { DatabaseModule } from './database/database.module';
import { EnforcementModule } from './enforcement/enforcement.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { NotificationsModule } from './notifications/notifications.module';
import { SessionsModule } from './sessions/sessions.module';
import { TwoFactorModule } from './two-factor/two-factor.module';
import { UsersModule } from './users/users.module';

export interface AppOptions {
  env: Environment;
  /** Tests pass a clock they can move; the service runs on the system clock. */
  clock?: Clock;
  /** Run the scheduled jobs and the mail sender here (default: JOBS_ENABLED). */
  jobs?: boolean;
  /** Where log lines go (standard output unless given). */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule {
  static register({
    env,
    clock,
    jobs = env.JOBS_ENABLED,
    logDestination,
  }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(env, clock),
        LoggingModule.register(env, logDestination),
        DatabaseModule,
        AuditModule,
        ClientsModule,
        UsersModule,
        SessionsModule,
        NotificationsModule,
        TwoFactorModule,
        AuthModule,
        AdminModule,
        HealthModule,
        EnforcementModule,
        ...(jobs ? [JobsModule] : []),
      ],
    };
  }
}
