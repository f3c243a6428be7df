import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import type { SessionStage } from '../../common/request-context';
import type { LoginNotice } from '../../two-factor/two-factor-policy';
import type { LoginResult } from '../auth.service';

export class LoginResultDto {
  @ApiProperty({ description: 'Send as `Authorization: Bearer <token>`; also set as cookie' })
  sessionToken: string;

  @ApiProperty({ enum: ['authenticated', 'two-factor-required', 'two-factor-setup-required'] })
  stage: SessionStage;

  @ApiProperty({ format: 'date-time', description: 'Absolute end of this session' })
  expiresAt: string;

  @ApiProperty({
    nullable: true,
    description:
      'null; or { kind: "two-factor-required", deadline, daysLeft } while 2FA must still be ' +
      'set up (daysLeft: whole days, rounded up); or { kind: "two-factor-recommended" }',
    example: { kind: 'two-factor-required', deadline: '2026-12-14T09:00:00.000Z', daysLeft: 10 },
  })
  notice: LoginNotice;

  @ApiPropertyOptional({
    description: 'Only when trustDevice was true: skips the code at login for 30 days',
  })
  trustedDeviceToken?: string;

  static from(result: LoginResult): LoginResultDto {
    return {
      sessionToken: result.sessionToken,
      stage: result.stage,
      expiresAt: result.expiresAt.toISOString(),
      notice: result.notice,
      ...(result.trustedDevice ? { trustedDeviceToken: result.trustedDevice.token } : {}),
    };
  }
}
