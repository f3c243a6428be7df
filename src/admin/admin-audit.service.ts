import { Injectable } from '@nestjs/common';

import { AuditEvent } from '../audit/audit-event.entity';
import { AuditService } from '../audit/audit.service';
import { Principal } from '../common/request-context';
import { AdminUsersService } from './admin-users.service';
import { AuditEventDto, AuditEventPageDto } from './dto/audit-events.dto';
import { DEFAULT_PAGE_SIZE } from './dto/query-rules';

/** The audit log of an administrator's reach: events recorded in one of its clients. */
@Injectable()
export class AdminAuditService {
  constructor(
    private readonly users: AdminUsersService,
    private readonly audit: AuditService,
  ) {}

  async findPage(
    principal: Principal,
    query: { page?: number; pageSize?: number; userId?: number; clientId?: number },
  ): Promise<AuditEventPageDto> {
    const clientIds = await this.users.reach(principal, query.clientId);
    if (query.userId !== undefined) {
      await this.users.getUserInReachOrThrow(principal, query.userId);
    }
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? DEFAULT_PAGE_SIZE;

    const { items, total } = await this.audit.findPage(clientIds, {
      userId: query.userId,
      page,
      pageSize,
    });

    return { items: items.map(describe), total, page, pageSize };
  }
}

function describe(event: AuditEvent): AuditEventDto {
  return {
    id: event.id,
    createdAt: event.createdAt.toISOString(),
    event: event.event,
    actorUserId: event.actorUserId,
    targetUserId: event.targetUserId,
    clientId: event.clientId,
    ip: event.ip,
    details: parseDetails(event.details),
  };
}

// Details are stored as JSON cut at the column's width; a cut record is no longer JSON.
function parseDetails(text: string | null): Record<string, unknown> | null {
  if (text === null) {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(text);

    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { value: parsed };
  } catch {
    return { truncated: true };
  }
}
