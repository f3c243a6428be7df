import { ApiProperty } from '@nestjs/swagger';

import { UserState } from '../user-state';
import { AdminUserDto } from './admin-user.dto';

/** Users per state in the reach (or the one client asked for), whatever the state filter. */
export class UserStateCountsDto implements Record<UserState, number> {
  @ApiProperty() active: number;
  @ApiProperty() exempt: number;
  @ApiProperty() overdue: number;
  @ApiProperty() pending: number;
  @ApiProperty() inactive: number;
}

export class AdminUserPageDto {
  @ApiProperty({ type: AdminUserDto, isArray: true }) items: AdminUserDto[];
  @ApiProperty({ description: 'Users matching every filter' }) total: number;
  @ApiProperty() page: number;
  @ApiProperty() pageSize: number;
  @ApiProperty({ type: UserStateCountsDto }) counts: UserStateCountsDto;
}
