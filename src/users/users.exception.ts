import { ApiException, ErrorKind } from '../common/api.exception';

export const USERS_ERRORS = {
  emailTaken: { status: 409, code: 'email_taken' },
  invalidCredentials: { status: 401, code: 'invalid_credentials' },
  tooManyAttempts: { status: 429, code: 'too_many_attempts' },
  lastAdministrator: { status: 409, code: 'last_administrator' },
  cannotChangeOwnExemption: { status: 403, code: 'cannot_change_own_exemption' },
} as const satisfies Record<string, ErrorKind>;
export class UsersException extends ApiException {
  static emailTaken(): UsersException {
    return new UsersException(USERS_ERRORS.emailTaken, 'A user with this email already exists');
  }

  static invalidCredentials(): UsersException {
    return new UsersException(USERS_ERRORS.invalidCredentials, 'Email or password is wrong');
  }

  static tooManyAttempts(retryAfterSeconds: number): UsersException {
    return new UsersException(
      USERS_ERRORS.tooManyAttempts,
      'Too many failed password attempts; password login is locked for a while',
      retryAfterSeconds,
    );
  }

  static lastAdministrator(): UsersException {
    return new UsersException(
      USERS_ERRORS.lastAdministrator,
      'This change would leave the client without an administrator',
    );
  }

  static cannotChangeOwnExemption(): UsersException {
    return new UsersException(
      USERS_ERRORS.cannotChangeOwnExemption,
      'Administrators cannot change their own 2FA exemption',
    );
  }
}
