import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Logger,
  Param,
  Patch,
  Post,
  Query,
  Req,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { Readable } from 'node:stream';

import { Clock } from '../common/clock';
import { COMMON_ERRORS } from '../common/common.exception';
import { IdPipe } from '../common/id.pipe';
import { AdministratorRoute, CurrentPrincipal } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { AppRequest, Principal, clientIp } from '../common/request-context';
import { TWO_FACTOR_ERRORS } from '../two-factor/two-factor.exception';
import { USERS_ERRORS } from '../users/users.exception';
import { AdminOverviewService } from './admin-overview.service';
import { AdminUsersService } from './admin-users.service';
import { AdminUserDto, CreateUserDto, UpdateUserDto } from './dto/admin-user.dto';
import { AdminUserPageDto } from './dto/admin-user-page.dto';
import { UserFilterQueryDto, UserPageQueryDto } from './dto/admin-users-query.dto';

const idPipe = new IdPipe();

@ApiTags('Administration')
@AdministratorRoute()
@Controller('admin/users')
export class AdminUsersController {
  private readonly logger = new Logger(AdminUsersController.name);

  constructor(
    private readonly users: AdminUsersService,
    private readonly overview: AdminOverviewService,
    private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOkResponse({
    type: AdminUserPageDto,
    description: 'Users of the reach in id order, each with one 2FA state, and counts per state',
  })
  @ApiErrors(COMMON_ERRORS.notFound)
  listUsers(
    @CurrentPrincipal() principal: Principal,
    @Query() query: UserPageQueryDto,
  ): Promise<AdminUserPageDto> {
    return this.overview.findPage(principal, query);
  }

  @Get('export.csv')
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description:
      'RFC 4180 CSV (CRLF, a header row) of every user matching the filters, in id order; ' +
      "cells starting with =, +, -, @, tab or CR are prefixed with '",
    schema: { type: 'string' },
  })
  @ApiErrors(COMMON_ERRORS.notFound)
  // The export holds personal data: no cache may keep a copy.
  @Header('Cache-Control', 'no-store')
  async exportUsers(
    @CurrentPrincipal() principal: Principal,
    @Query() query: UserFilterQueryDto,
  ): Promise<StreamableFile> {
    const chunks = await this.overview.exportCsv(principal, query);
    const day = this.clock.now().toISOString().slice(0, 10);

    // A failure mid-stream cuts the connection, so a partial file never looks complete.
    return new StreamableFile(Readable.from(chunks), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="users-${day}.csv"`,
    }).setErrorLogger((error) =>
      this.logger.error(
        { err: error, userId: principal.user.id, clientId: principal.homeClient.id },
        'User export failed while streaming',
      ),
    );
  }

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

  @Delete(':id/two-factor')
  @HttpCode(204)
  @ApiNoContentResponse({
    description:
      "Deactivates the user's 2FA: trusted devices, recovery codes and sessions go; the user " +
      'is emailed',
  })
  @ApiErrors(
    TWO_FACTOR_ERRORS.cannotDeactivateOwn,
    COMMON_ERRORS.notFound,
    TWO_FACTOR_ERRORS.notActive,
  )
  async resetTwoFactor(
    @CurrentPrincipal() principal: Principal,
    @Param('id', idPipe) id: number,
    @Req() request: AppRequest,
  ): Promise<void> {
    await this.users.resetTwoFactor(principal, id, clientIp(request));
  }
}
