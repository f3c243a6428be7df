import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';

import { Optional } from '../../common/dto-rules';
import { USER_STATES, UserState } from '../user-state';
import { IsPage, IsPageSize, IsQueryInt, MAX_ID } from './query-rules';

/** The overview's filters, shared by the page and the CSV export. */
export class UserFilterQueryDto {
  @ApiPropertyOptional({ enum: USER_STATES })
  @Optional()
  @IsIn(USER_STATES, { message: `$property must be one of ${USER_STATES.join(', ')}` })
  state?: UserState;

  @IsQueryInt(1, MAX_ID, 'Narrows to one client in reach (404 otherwise)')
  clientId?: number;
}

export class UserPageQueryDto extends UserFilterQueryDto {
  @IsPage()
  page?: number;

  @IsPageSize()
  pageSize?: number;
}
