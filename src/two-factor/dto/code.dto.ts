import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsString, Length, Matches } from 'class-validator';

import { Optional } from '../../common/dto-rules';
import { Totp } from '../totp';

const CODE_RULE = 'must be a string of exactly 6 digits (spaces allowed between them)';

/** A TOTP code: a JSON string of 6 ASCII digits once spaces are removed; leading zeros count. */
export function IsTotpCode(): PropertyDecorator {
  return (target: object, property: string | symbol) => {
    Transform(({ value }: { value: unknown }) => Totp.normalizeCode(value) ?? value)(
      target,
      property,
    );
    IsString({ message: `$property ${CODE_RULE}` })(target, property);
    Matches(/^[0-9]{6}$/, { message: `$property ${CODE_RULE}` })(target, property);
  };
}

export class CodeDto {
  @ApiProperty({ example: '123456', description: '6 digits from the authenticator app' })
  @IsTotpCode()
  code: string;
}

export class TwoFactorStepDto extends CodeDto {
  @ApiPropertyOptional({ description: 'Trust this browser for 30 days (issues a token)' })
  @Optional()
  @IsBoolean()
  trustDevice?: boolean;
}

export class RecoveryCodeDto {
  @ApiProperty({ example: 'ABCDE-FGHJK-MNPQR' })
  @IsString()
  @Length(1, 64)
  @Matches(/^[0-9A-Za-z -]+$/, { message: 'recoveryCode must contain letters, digits and hyphens' })
  recoveryCode: string;
}

export class DeactivateTwoFactorDto {
  @ApiPropertyOptional({ example: '123456' })
  @Optional()
  @IsTotpCode()
  code?: string;

  @ApiPropertyOptional({ example: 'ABCDE-FGHJK-MNPQR' })
  @Optional()
  @IsString()
  @Length(1, 64)
  @Matches(/^[0-9A-Za-z -]+$/, { message: 'recoveryCode must contain letters, digits and hyphens' })
  recoveryCode?: string;
}

export class SetupDto {
  @ApiProperty({ description: 'The current password' })
  @IsString()
  @Length(1, 1024)
  password: string;
}
