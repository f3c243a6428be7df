import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import { Environment } from '../../config/environment';
import { COMMON_ERRORS } from '../common/common.exception';
import { ANY_STAGE, BackofficeRoute, CurrentPrincipal, Public, Stages } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppRequest, Principal, clientIp, userAgent } from '../common/request-context';
import { RecoveryCodeDto, TwoFactorStepDto } from '../two-factor/dto/code.dto';
import { TWO_FACTOR_ERRORS } from '../two-factor/two-factor.exception';
import { User } from '../users/user.entity';
import { USERS_ERRORS } from '../users/users.exception';
import { AuthService, LoginResult, RequestMeta } from './auth.service';
import { LoginDto } from './dto/login.dto';
import { LoginResultDto } from './dto/login-result.dto';
import { LoginGuard } from './login.guard';
import { LoginThrottlerGuard } from './login-throttler.guard';
import {
  SESSION_COOKIE,
  TRUSTED_DEVICE_COOKIE,
  clearCookie,
  cookieOptions,
  cookieValue,
} from './session-token';

@ApiTags('Auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly env: Environment,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @UseGuards(LoginThrottlerGuard, LoginGuard(LoginDto))
  @ApiOkResponse({ type: LoginResultDto })
  @ApiErrors(
    USERS_ERRORS.invalidCredentials,
    USERS_ERRORS.tooManyAttempts,
    COMMON_ERRORS.serverBusy,
  )
  async login(
    @Body() body: LoginDto,
    @Req() request: AppRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<LoginResultDto> {
    const user = request.user as User;
    const trustedDeviceToken =
      body.trustedDeviceToken ?? cookieValue(request, TRUSTED_DEVICE_COOKIE);
    const result = await this.auth.completeLogin(user, trustedDeviceToken, meta(request));

    return this.answer(result, response);
  }

  @Post('two-factor')
  @BackofficeRoute()
  @Stages('two-factor-required')
  @HttpCode(200)
  @ApiOkResponse({ type: LoginResultDto })
  @ApiErrors(
    TWO_FACTOR_ERRORS.invalidCode,
    TWO_FACTOR_ERRORS.locked,
    TWO_FACTOR_ERRORS.secretUnavailable,
  )
  async twoFactor(
    @CurrentPrincipal() principal: Principal,
    @Body() body: TwoFactorStepDto,
    @Req() request: AppRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<LoginResultDto> {
    const result = await this.auth.verifyCodeStep(
      principal,
      body.code,
      body.trustDevice === true,
      meta(request),
    );

    return this.answer(result, response);
  }

  @Post('recovery')
  @BackofficeRoute()
  @Stages('two-factor-required')
  @HttpCode(200)
  @ApiOkResponse({ type: LoginResultDto })
  @ApiErrors(TWO_FACTOR_ERRORS.invalidCode, TWO_FACTOR_ERRORS.locked)
  async recovery(
    @CurrentPrincipal() principal: Principal,
    @Body() body: RecoveryCodeDto,
    @Req() request: AppRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<LoginResultDto> {
    const result = await this.auth.verifyRecoveryStep(principal, body.recoveryCode, meta(request));

    return this.answer(result, response);
  }

  @Post('logout')
  @BackofficeRoute()
  @Stages(...ANY_STAGE)
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The session has ended; the cookie is cleared' })
  @ApiErrors()
  async logout(
    @CurrentPrincipal() principal: Principal,
    @Req() request: AppRequest,
    @Res({ passthrough: true }) response: Response,
  ): Promise<void> {
    await this.auth.logout(principal.session, meta(request));
    clearCookie(response, this.env, SESSION_COOKIE);
  }

  private answer(result: LoginResult, response: Response): LoginResultDto {
    response.cookie(SESSION_COOKIE, result.sessionToken, cookieOptions(this.env, result.expiresAt));
    if (result.trustedDevice) {
      response.cookie(
        TRUSTED_DEVICE_COOKIE,
        result.trustedDevice.token,
        cookieOptions(this.env, result.trustedDevice.expiresAt),
      );
    }

    return LoginResultDto.from(result);
  }
}

export function meta(request: AppRequest): RequestMeta {
  return { ip: clientIp(request), userAgent: userAgent(request) };
}
