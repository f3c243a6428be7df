import { ApiProperty } from '@nestjs/swagger';

export class SetupAnswerDto {
  @ApiProperty({ description: 'The shared secret, base32 without padding (shown only here)' })
  secret: string;

  @ApiProperty({ description: 'otpauth://totp/ URI with the label Issuer:email and issuer' })
  otpauthUrl: string;

  @ApiProperty({ description: 'The otpauth URI as a QR code, a PNG data URL' })
  qrCode: string;

  @ApiProperty({ format: 'date-time', description: 'The pending setup ends then (10 minutes)' })
  expiresAt: string;
}

export class RecoveryCodesDto {
  @ApiProperty({
    type: String,
    isArray: true,
    description: 'Ten single-use recovery codes, shown only here',
  })
  recoveryCodes: string[];
}

export class TrustedDeviceDto {
  @ApiProperty() id: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time', description: '30 days after createdAt' }) expiresAt: string;
  @ApiProperty({ nullable: true, type: String }) userAgent: string | null;
}
