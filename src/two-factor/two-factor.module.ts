import { Module } from '@nestjs/common';

import { NotificationsModule } from '../notifications/notifications.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { CodeVerifier } from './code-verifier.service';
import { MeTwoFactorController } from './me-two-factor.controller';
import { RecoveryCodeGenerator } from './recovery-code-generator';
import { SecretCipher } from './secret-cipher';
import { Totp } from './totp';
import { TrustedDevicesService } from './trusted-devices.service';
import { TwoFactorPolicyService } from './two-factor-policy.service';
import { TwoFactorService } from './two-factor.service';

@Module({
  imports: [UsersModule, SessionsModule, NotificationsModule],
  controllers: [MeTwoFactorController],
  providers: [
    Totp,
    SecretCipher,
    RecoveryCodeGenerator,
    CodeVerifier,
    TrustedDevicesService,
    TwoFactorPolicyService,
    TwoFactorService,
  ],
  exports: [
    Totp,
    SecretCipher,
    CodeVerifier,
    TrustedDevicesService,
    TwoFactorPolicyService,
    TwoFactorService,
  ],
})
export class TwoFactorModule {}
