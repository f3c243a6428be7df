import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';

import { EnforcementModule } from '../enforcement/enforcement.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { EnforcementJob } from './enforcement.job';
import { MailSenderJob } from './mail-sender.job';

/**
 * The timers of an instance that runs jobs (JOBS_ENABLED): the hourly enforcement tick and the
 * mail sender's poll. Left out of tests and the command line, which call the services directly.
 */
@Module({
  imports: [ScheduleModule.forRoot(), EnforcementModule, NotificationsModule],
  providers: [EnforcementJob, MailSenderJob],
})
export class JobsModule {}
