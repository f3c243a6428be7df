import { Module } from '@nestjs/common';

import { ClientsModule } from '../clients/clients.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TwoFactorModule } from '../two-factor/two-factor.module';
import { UsersModule } from '../users/users.module';
import { AdminAuditController } from './admin-audit.controller';
import { AdminAuditService } from './admin-audit.service';
import { AdminOverviewService } from './admin-overview.service';
import { AdminSettingsController } from './admin-settings.controller';
import { AdminSettingsService } from './admin-settings.service';
import { AdminUsersController } from './admin-users.controller';
import { AdminUsersService } from './admin-users.service';

@Module({
  imports: [UsersModule, ClientsModule, SessionsModule, TwoFactorModule],
  controllers: [AdminUsersController, AdminSettingsController, AdminAuditController],
  providers: [AdminUsersService, AdminOverviewService, AdminSettingsService, AdminAuditService],
})
export class AdminModule {}
