import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Min } from 'class-validator';

import type { SessionStage } from '../../common/request-context';
import { CLIENT_KINDS, ClientKind } from '../../clients/client.entity';
import { PERMISSIONS, Permission } from '../../users/user.entity';

export class MeTwoFactorDto {
  @ApiProperty() active: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) activatedAt: string | null;
  @ApiProperty({ description: 'The user must still set up 2FA (false once it is active)' })
  required: boolean;
  @ApiProperty() exempt: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) deadline: string | null;
  @ApiProperty({ description: 'The home client offers 2FA (small clients do not)' })
  available: boolean;
  @ApiProperty() recoveryCodesLeft: number;
}

export class MeDto {
  @ApiProperty() id: number;
  @ApiProperty() email: string;
  @ApiProperty() name: string;
  @ApiProperty() homeClientId: number;
  @ApiProperty() activeClientId: number;
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) permissions: Permission[];
  @ApiProperty({ enum: ['authenticated', 'two-factor-required', 'two-factor-setup-required'] })
  stage: SessionStage;
  @ApiProperty({ type: MeTwoFactorDto }) twoFactor: MeTwoFactorDto;
}

export class ClientSummaryDto {
  @ApiProperty() id: number;
  @ApiProperty() name: string;
  @ApiProperty({ enum: CLIENT_KINDS }) kind: ClientKind;
}

export class SwitchClientDto {
  @ApiProperty({ example: 2 })
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be a positive integer' })
  clientId: number;
}
