import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';

import { COMMON_ERRORS } from '../common/common.exception';
import { AdministratorRoute, CurrentPrincipal } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { Principal } from '../common/request-context';
import { AdminAuditService } from './admin-audit.service';
import { AuditEventPageDto, AuditEventsQueryDto } from './dto/audit-events.dto';

@ApiTags('Administration')
@AdministratorRoute()
@Controller('admin/audit-events')
export class AdminAuditController {
  constructor(private readonly audit: AdminAuditService) {}

  @Get()
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiErrors(COMMON_ERRORS.notFound)
  listAuditEvents(
    @CurrentPrincipal() principal: Principal,
    @Query() query: AuditEventsQueryDto,
  ): Promise<AuditEventPageDto> {
    return this.audit.findPage(principal, query);
  }
}
