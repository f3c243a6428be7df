import { ApiProperty } from '@nestjs/swagger';

import { IsPage, IsPageSize, IsQueryInt, MAX_ID } from './query-rules';

export class AuditEventsQueryDto {
  @IsPage()
  page?: number;

  @IsPageSize()
  pageSize?: number;

  @IsQueryInt(1, MAX_ID, 'Events this user did or underwent; a user in reach (404 otherwise)')
  userId?: number;

  @IsQueryInt(1, MAX_ID, 'Narrows to one client in reach (404 otherwise)')
  clientId?: number;
}

export class AuditEventDto {
  @ApiProperty() id: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ example: 'login.failed' }) event: string;
  @ApiProperty({ nullable: true, type: Number }) actorUserId: number | null;
  @ApiProperty({ nullable: true, type: Number }) targetUserId: number | null;
  @ApiProperty({ nullable: true, type: Number }) clientId: number | null;
  @ApiProperty({ nullable: true, type: String }) ip: string | null;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'Non-secret facts of the event; never codes, secrets, tokens or passwords',
  })
  details: Record<string, unknown> | null;
}

export class AuditEventPageDto {
  @ApiProperty({ type: AuditEventDto, isArray: true, description: 'Newest first' })
  items: AuditEventDto[];

  @ApiProperty() total: number;
  @ApiProperty() page: number;
  @ApiProperty() pageSize: number;
}
