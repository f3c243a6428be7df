import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';

import { COMMON_ERRORS } from '../common/common.exception';
import { AppChannelRoute, CurrentAppPrincipal, Public } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppPrincipal, AppRequest } from '../common/request-context';
import { APP_CHANNELS, AppChannel } from '../sessions/session.entity';
import { User } from '../users/user.entity';
import { USERS_ERRORS } from '../users/users.exception';
import { meta } from './auth.controller';
import { AuthService } from './auth.service';
import { AppLoginDto } from './dto/login.dto';
import { LoginGuard } from './login.guard';
import { LoginThrottlerGuard } from './login-throttler.guard';

class AppLoginResultDto {
  @ApiProperty() sessionToken: string;
  @ApiProperty({ enum: APP_CHANNELS }) app: AppChannel;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
}

class AppMeDto {
  @ApiProperty() id: number;
  @ApiProperty() email: string;
  @ApiProperty({ enum: APP_CHANNELS }) app: AppChannel;
}

/**
 * The voucher app, the ticket app and the web check-in log in with a password only: these
 * channels have no 2FA and no deadlines. Their tokens reach app routes and nothing else.
 */
@ApiTags('App channels')
@Controller('apps')
export class AppAuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('auth/login')
  @Public()
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard, LoginGuard(AppLoginDto))
  @ApiOkResponse({ type: AppLoginResultDto })
  @ApiErrors(
    USERS_ERRORS.invalidCredentials,
    USERS_ERRORS.tooManyAttempts,
    COMMON_ERRORS.serverBusy,
  )
  async login(@Body() body: AppLoginDto, @Req() request: AppRequest): Promise<AppLoginResultDto> {
    const result = await this.auth.appLogin(request.user as User, body.app, meta(request));

    return { ...result, expiresAt: result.expiresAt.toISOString() };
  }

  @Post('auth/logout')
  @AppChannelRoute()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The app session has ended' })
  @ApiErrors()
  async logout(
    @CurrentAppPrincipal() principal: AppPrincipal,
    @Req() request: AppRequest,
  ): Promise<void> {
    await this.auth.logout(principal.session, meta(request));
  }

  @Get('me')
  @AppChannelRoute()
  @ApiOkResponse({ type: AppMeDto })
  @ApiErrors()
  getMe(@CurrentAppPrincipal() principal: AppPrincipal): AppMeDto {
    return {
      id: principal.user.id,
      email: principal.user.email,
      app: principal.session.channel as AppChannel,
    };
  }
}
