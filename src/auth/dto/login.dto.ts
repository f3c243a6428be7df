import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength } from 'class-validator';

import { IsCurrentPassword, IsNormalizedEmail, Optional } from '../../common/dto-rules';
import { APP_CHANNELS, AppChannel } from '../../sessions/session.entity';

export class LoginDto {
  @IsNormalizedEmail()
  email: string;

  @IsCurrentPassword()
  password: string;

  @ApiPropertyOptional({ description: 'A trusted-device token (also read from its cookie)' })
  @Optional()
  @IsString({ message: '$property must be a string' })
  @MaxLength(200, { message: '$property must be at most 200 characters' })
  trustedDeviceToken?: string;
}

export class AppLoginDto {
  @IsNormalizedEmail()
  email: string;

  @IsCurrentPassword()
  password: string;

  @ApiProperty({ enum: APP_CHANNELS })
  @IsIn(APP_CHANNELS, { message: `$property must be one of ${APP_CHANNELS.join(', ')}` })
  app: AppChannel;
}
