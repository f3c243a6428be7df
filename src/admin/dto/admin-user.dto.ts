import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayUnique, IsArray, IsBoolean, IsIn, IsInt, IsString, Min } from 'class-validator';

import {
  HasTextLength,
  IsDisplayText,
  IsNewPassword,
  IsNormalizedEmail,
  Optional,
} from '../../common/dto-rules';
import { PERMISSIONS, Permission } from '../../users/user.entity';
import { USER_STATES, UserState } from '../user-state';

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

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

  @ApiProperty({ maxLength: 200 })
  @Transform(trim)
  @IsString({ message: '$property must be a string' })
  @HasTextLength(1, 200, '$property must be 1 to 200 characters')
  @IsDisplayText()
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

  @ApiPropertyOptional({ maxLength: 200 })
  @Optional()
  @Transform(trim)
  @IsString({ message: '$property must be a string' })
  @HasTextLength(1, 200, '$property must be 1 to 200 characters')
  @IsDisplayText()
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
