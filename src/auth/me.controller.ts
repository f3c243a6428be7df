import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { CLIENTS_ERRORS } from '../clients/clients.exception';
import { COMMON_ERRORS } from '../common/common.exception';
import { BackofficeRoute, CurrentPrincipal, Stages } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppRequest, Principal } from '../common/request-context';
import { USERS_ERRORS } from '../users/users.exception';
import { meta } from './auth.controller';
import { AuthService } from './auth.service';
import { ClientSummaryDto, MeDto, SwitchClientDto } from './dto/me.dto';
import { PasswordChangeDto } from './dto/password-change.dto';
import { MeService } from './me.service';

@ApiTags('My user')
@BackofficeRoute()
@Controller('me')
export class MeController {
  constructor(
    private readonly me: MeService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @Stages('authenticated', 'two-factor-setup-required')
  @ApiOkResponse({ type: MeDto })
  @ApiErrors()
  getMe(@CurrentPrincipal() principal: Principal): MeDto {
    return this.me.describe(principal);
  }

  @Post('password')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Changed; the other sessions and trusted devices ended' })
  @ApiErrors(
    USERS_ERRORS.invalidCredentials,
    USERS_ERRORS.tooManyAttempts,
    COMMON_ERRORS.serverBusy,
  )
  async changePassword(
    @CurrentPrincipal() principal: Principal,
    @Body() body: PasswordChangeDto,
    @Req() request: AppRequest,
  ): Promise<void> {
    await this.auth.changePassword(
      principal,
      body.currentPassword,
      body.newPassword,
      meta(request),
    );
  }

  @Get('clients')
  @Stages('authenticated', 'two-factor-setup-required')
  @ApiOkResponse({ type: ClientSummaryDto, isArray: true })
  @ApiErrors()
  listClients(@CurrentPrincipal() principal: Principal): Promise<ClientSummaryDto[]> {
    return this.me.listClients(principal);
  }

  @Post('client')
  @HttpCode(200)
  @Stages('authenticated', 'two-factor-setup-required')
  @ApiOkResponse({ type: MeDto })
  @ApiErrors(CLIENTS_ERRORS.clientNotAccessible)
  switchClient(
    @CurrentPrincipal() principal: Principal,
    @Body() body: SwitchClientDto,
    @Req() request: AppRequest,
  ): Promise<MeDto> {
    return this.me.switchClient(principal, body.clientId, meta(request));
  }
}
