import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, Min } from 'class-validator';

import {
  IsName,
  IsNewPassword,
  IsNormalizedEmail,
  NAME_MAX_LENGTH,
  Optional,
} from '../../common/dto-rules';
import { PERMISSIONS, Permission } from '../../users/user.entity';
import { USER_STATES, UserState } from '../user-state';

export class AdminUserDto {
  @ApiProperty() id: number;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The home client' }) clientId: number;
  @ApiProperty({ enum: USER_STATES }) state: UserState;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) deadline: string | null;
  @ApiProperty({ description: 'The account is active (not the 2FA state)' }) active: boolean;
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) permissions: Permission[];
  @ApiProperty() twoFactorExempt: boolean;
  @ApiProperty() twoFactorActive: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class CreateUserDto {
  @IsNormalizedEmail()
  email: string;

  @ApiProperty({ maxLength: NAME_MAX_LENGTH })
  @IsName()
  name: string;

  @IsNewPassword()
  password: string;

  @ApiProperty({ enum: PERMISSIONS, isArray: true })
  @IsArray({ message: '$property must be an array' })
  @ArrayUnique({ message: '$property must not repeat a permission' })
  @IsIn(PERMISSIONS, {
    each: true,
    message: `$property must each be one of ${PERMISSIONS.join(', ')}`,
  })
  permissions: Permission[];

  @ApiPropertyOptional({ description: "A client in reach; default: the administrator's home" })
  @Optional()
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be a positive integer' })
  clientId?: number;
}

export class UpdateUserDto {
  @ApiPropertyOptional()
  @Optional()
  @IsBoolean({ message: '$property must be a boolean' })
  twoFactorExempt?: boolean;

  @ApiPropertyOptional({ maxLength: NAME_MAX_LENGTH })
  @Optional()
  @IsName()
  name?: string;

  @ApiPropertyOptional({ enum: PERMISSIONS, isArray: true })
  @Optional()
  @IsArray({ message: '$property must be an array' })
  @ArrayUnique({ message: '$property must not repeat a permission' })
  @IsIn(PERMISSIONS, {
    each: true,
    message: `$property must each be one of ${PERMISSIONS.join(', ')}`,
  })
  permissions?: Permission[];

  @ApiPropertyOptional({ description: 'false deactivates the account and ends its sessions' })
  @Optional()
  @IsBoolean({ message: '$property must be a boolean' })
  active?: boolean;
}
