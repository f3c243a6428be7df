import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import { AuditService } from '../audit/audit.service';
import { COMMON_ERRORS, CommonException } from '../common/common.exception';
import { IdPipe } from '../common/id.pipe';
import { BackofficeRoute, CurrentPrincipal, Stages } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { USERS_ERRORS } from '../users/users.exception';
import { AppRequest, Principal, clientIp } from '../common/request-context';
import { TransactionRunner } from '../database/transaction-runner';
import { CodeDto, DeactivateTwoFactorDto, SetupDto } from './dto/code.dto';
import { RecoveryCodesDto, SetupAnswerDto, TrustedDeviceDto } from './dto/two-factor-answers.dto';
import { TrustedDevicesService } from './trusted-devices.service';
import { TWO_FACTOR_ERRORS as E } from './two-factor.exception';
import { TwoFactorService } from './two-factor.service';

const idPipe = new IdPipe();

@ApiTags('My user')
@BackofficeRoute()
@Controller('me')
export class MeTwoFactorController {
  constructor(
    private readonly twoFactor: TwoFactorService,
    private readonly trustedDevices: TrustedDevicesService,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
  ) {}

  @Post('two-factor/setup')
  @ApiCreatedResponse({ type: SetupAnswerDto })
  @Stages('authenticated', 'two-factor-setup-required')
  @ApiErrors(
    USERS_ERRORS.invalidCredentials,
    E.alreadyActive,
    E.unavailableForClient,
    E.managedInGroupClient,
    USERS_ERRORS.tooManyAttempts,
    COMMON_ERRORS.serverBusy,
  )
  async setup(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SetupDto,
    @Req() req: AppRequest,
  ) {
    const answer = await this.twoFactor.setup(principal, body.password, clientIp(req));

    return { ...answer, expiresAt: answer.expiresAt.toISOString() };
  }

  @Post('two-factor/confirm')
  @HttpCode(200)
  @ApiOkResponse({ type: RecoveryCodesDto, description: '2FA is active' })
  @Stages('authenticated', 'two-factor-setup-required')
  @ApiErrors(E.invalidCode, E.noPendingSetup, E.managedInGroupClient, E.locked, E.secretUnavailable)
  async confirm(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CodeDto,
    @Req() req: AppRequest,
  ) {
    return { recoveryCodes: await this.twoFactor.confirm(principal, body.code, clientIp(req)) };
  }

  @Delete('two-factor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: '2FA is off; trusted devices and recovery codes removed' })
  @ApiErrors(E.invalidCode, E.notActive, E.managedInGroupClient, E.locked, E.secretUnavailable)
  async deactivate(
    @CurrentPrincipal() principal: Principal,
    @Body() body: DeactivateTwoFactorDto,
    @Req() req: AppRequest,
  ): Promise<void> {
    if ((body.code === undefined) === (body.recoveryCode === undefined)) {
      throw CommonException.validation('code: send either code or recoveryCode');
    }
    await this.twoFactor.deactivateOwn(principal, body, clientIp(req));
  }

  @Post('two-factor/recovery-codes')
  @HttpCode(200)
  @ApiOkResponse({ type: RecoveryCodesDto, description: 'The new set; the old codes are void' })
  @ApiErrors(E.invalidCode, E.notActive, E.managedInGroupClient, E.locked, E.secretUnavailable)
  async renewRecoveryCodes(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CodeDto,
    @Req() req: AppRequest,
  ) {
    return {
      recoveryCodes: await this.twoFactor.renewRecoveryCodes(principal, body.code, clientIp(req)),
    };
  }

  @Get('trusted-devices')
  @ApiOkResponse({ type: TrustedDeviceDto, isArray: true })
  @ApiErrors()
  async listTrustedDevices(@CurrentPrincipal() principal: Principal) {
    const devices = await this.trustedDevices.listForUser(principal.user.id);

    return devices.map((device) => ({
      id: device.id,
      createdAt: device.createdAt.toISOString(),
      lastUsedAt: device.lastUsedAt?.toISOString() ?? null,
      expiresAt: device.expiresAt.toISOString(),
      userAgent: device.userAgent,
    }));
  }

  @Delete('trusted-devices/:id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The device is revoked' })
  @ApiErrors(COMMON_ERRORS.notFound)
  async revokeTrustedDevice(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: number,
    @Req() req: AppRequest,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      if (!(await this.trustedDevices.revoke(tx, principal.user.id, id))) {
        throw CommonException.notFound('Trusted device');
      }
      await this.audit.record(
        {
          event: 'trusted_device.revoked',
          actorUserId: principal.user.id,
          targetUserId: principal.user.id,
          clientId: principal.activeClient.id,
          ip: clientIp(req),
          details: { deviceId: id },
        },
        tx,
      );
    });
  }

  @Delete('trusted-devices')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Every trusted device of the user is revoked' })
  @ApiErrors()
  async revokeAllTrustedDevices(
    @CurrentPrincipal() principal: Principal,
    @Req() req: AppRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      const count = await this.trustedDevices.revokeAll(tx, principal.user.id);
      await this.audit.record(
        {
          event: 'trusted_device.revoked',
          actorUserId: principal.user.id,
          targetUserId: principal.user.id,
          clientId: principal.activeClient.id,
          ip: clientIp(req),
          details: { all: true, count },
        },
        tx,
      );
    });
    res.clearCookie('trusted_device', { path: '/' });
  }
}
