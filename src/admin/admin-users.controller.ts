import { Body, Controller, Param, ParseIntPipe, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { COMMON_ERRORS, CommonException } from '../common/common.exception';
import { AdministratorRoute, CurrentPrincipal } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppRequest, Principal, clientIp } from '../common/request-context';
import { USERS_ERRORS } from '../users/users.exception';
import { AdminUsersService } from './admin-users.service';
import { AdminUserDto, CreateUserDto, UpdateUserDto } from './dto/admin-user.dto';

export const idPipe = new ParseIntPipe({
  exceptionFactory: () => CommonException.validation('id: must be an integer'),
});

@ApiTags('Administration')
@AdministratorRoute()
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: AdminUsersService) {}

  @Post()
  @ApiCreatedResponse({ type: AdminUserDto })
  @ApiErrors(USERS_ERRORS.emailTaken, COMMON_ERRORS.notFound, COMMON_ERRORS.serverBusy)
  create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateUserDto,
    @Req() request: AppRequest,
  ): Promise<AdminUserDto> {
    return this.users.create(principal, body, clientIp(request));
  }

  @Patch(':id')
  @ApiOkResponse({ type: AdminUserDto })
  @ApiErrors(
    USERS_ERRORS.cannotChangeOwnExemption,
    USERS_ERRORS.lastAdministrator,
    COMMON_ERRORS.notFound,
  )
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: number,
    @Body() body: UpdateUserDto,
    @Req() request: AppRequest,
  ): Promise<AdminUserDto> {
    return this.users.update(principal, id, body, clientIp(request));
  }
}
