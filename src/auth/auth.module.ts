import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';

import { Environment } from '../../config/environment';
import { ClientsModule } from '../clients/clients.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TwoFactorModule } from '../two-factor/two-factor.module';
import { UsersModule } from '../users/users.module';
import { AdministratorGuard } from './administrator.guard';
import { AppAuthController } from './app-auth.controller';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { LocalStrategy } from './local.strategy';
import { LOGIN_THROTTLER, LoginThrottlerGuard } from './login-throttler.guard';
import { MeController } from './me.controller';
import { MeService } from './me.service';
import { PrincipalService } from './principal.service';
import { SessionGuard } from './session.guard';

@Module({
  imports: [
    PassportModule,
    ThrottlerModule.forRootAsync({
      inject: [Environment],
      useFactory: (env: Environment) => [
        {
          name: LOGIN_THROTTLER,
          limit: env.LOGIN_RATE_LIMIT,
          ttl: env.LOGIN_RATE_WINDOW_SECONDS * 1000,
        },
      ],
    }),
    UsersModule,
    ClientsModule,
    SessionsModule,
    TwoFactorModule,
  ],
  controllers: [AuthController, MeController, AppAuthController],
  providers: [
    AuthService,
    MeService,
    PrincipalService,
    LocalStrategy,
    LoginThrottlerGuard,
    // Global, in this order: who is calling, then whether they may call an admin route.
    { provide: APP_GUARD, useClass: SessionGuard },
    { provide: APP_GUARD, useClass: AdministratorGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
