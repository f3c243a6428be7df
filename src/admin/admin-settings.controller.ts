import { Body, Controller, Get, Patch, Req } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { AdministratorRoute, CurrentPrincipal } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppRequest, Principal, clientIp } from '../common/request-context';
import { TWO_FACTOR_ERRORS } from '../two-factor/two-factor.exception';
import { AdminSettingsService } from './admin-settings.service';
import { ClientSettingsDto, UpdateClientSettingsDto } from './dto/admin-settings.dto';

@ApiTags('Administration')
@AdministratorRoute()
@Controller('admin/settings')
export class AdminSettingsController {
  constructor(private readonly settings: AdminSettingsService) {}

  @Get()
  @ApiOkResponse({ type: ClientSettingsDto, description: "The administrator's home client" })
  @ApiErrors()
  getSettings(@CurrentPrincipal() principal: Principal): Promise<ClientSettingsDto> {
    return this.settings.get(principal);
  }

  @Patch()
  @ApiOkResponse({
    type: ClientSettingsDto,
    description:
      "Changes the administrator's home client. Turning requireTwoFactor off clears the " +
      'deadlines of users no client in their reach still requires 2FA of.',
  })
  @ApiErrors(TWO_FACTOR_ERRORS.unavailableForClient)
  updateSettings(
    @CurrentPrincipal() principal: Principal,
    @Body() body: UpdateClientSettingsDto,
    @Req() request: AppRequest,
  ): Promise<ClientSettingsDto> {
    return this.settings.update(principal, body, clientIp(request));
  }
}
