import { IsCurrentPassword, IsNewPassword } from '../../common/dto-rules';

export class PasswordChangeDto {
  @IsCurrentPassword()
  currentPassword: string;

  @IsNewPassword()
  newPassword: string;
}
