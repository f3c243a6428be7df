import { Module } from '@nestjs/common';

import { NotificationsModule } from '../notifications/notifications.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TwoFactorModule } from '../two-factor/two-factor.module';
import { DeadlineRemindersService } from './deadline-reminders.service';
import { EnforcementService } from './enforcement.service';

/** The enforcement tick: deadline reminders and the removal of what has expired. */
@Module({
  imports: [NotificationsModule, SessionsModule, TwoFactorModule],
  providers: [DeadlineRemindersService, EnforcementService],
  exports: [EnforcementService],
})
export class EnforcementModule {}
