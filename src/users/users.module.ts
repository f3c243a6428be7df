import { Module } from '@nestjs/common';

import { ClientsModule } from '../clients/clients.module';
import { BootstrapService } from './bootstrap.service';
import { PasswordAttemptsService } from './password-attempts.service';
import { AuditedPasswordCheckService } from './audited-password-check.service';
import { PasswordHasher } from './password-hasher';
import { UsersService } from './users.service';

@Module({
  imports: [ClientsModule],
  providers: [
    UsersService,
    PasswordHasher,
    PasswordAttemptsService,
    AuditedPasswordCheckService,
    BootstrapService,
  ],
  exports: [UsersService, PasswordHasher, PasswordAttemptsService, AuditedPasswordCheckService],
})
export class UsersModule {}
