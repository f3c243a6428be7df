import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';

export class ClientSettingsDto {
  @ApiProperty({ description: "The administrator's home client, which these settings are of" })
  clientId: number;

  @ApiProperty() requireTwoFactor: boolean;

  @ApiProperty({ description: 'Days a required user has to set up 2FA (TWO_FACTOR_GRACE_DAYS)' })
  gracePeriodDays: number;

  @ApiProperty({ description: 'The client offers 2FA (small clients do not)' })
  twoFactorAvailable: boolean;
}

export class UpdateClientSettingsDto {
  @ApiProperty()
  @IsBoolean({ message: '$property must be a boolean' })
  requireTwoFactor: boolean;
}
