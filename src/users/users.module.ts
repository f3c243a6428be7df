import { Module } from '@nestjs/common';

import { ClientsModule } from '../clients/clients.module';
import { BootstrapService } from './bootstrap.service';
import { PasswordAttemptsService } from './password-attempts.service';
import { PasswordRecheckService } from './password-recheck.service';
import { PasswordHasher } from './password-hasher';
import { UsersService } from './users.service';

@Module({
  imports: [ClientsModule],
  providers: [
    UsersService,
    PasswordHasher,
    PasswordAttemptsService,
    PasswordRecheckService,
    BootstrapService,
  ],
  exports: [UsersService, PasswordHasher, PasswordAttemptsService, PasswordRecheckService],
})
export class UsersModule {}
