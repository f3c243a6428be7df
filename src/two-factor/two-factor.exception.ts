import { ApiException, ErrorKind } from '../common/api.exception';

export const TWO_FACTOR_ERRORS = {
  twoFactorRequired: { status: 403, code: 'two_factor_required' },
  twoFactorSetupRequired: { status: 403, code: 'two_factor_setup_required' },
  invalidCode: { status: 401, code: 'invalid_code' },
  locked: { status: 429, code: 'two_factor_locked' },
  alreadyActive: { status: 409, code: 'two_factor_already_active' },
  notActive: { status: 409, code: 'two_factor_not_active' },
  noPendingSetup: { status: 409, code: 'no_pending_setup' },
  unavailableForClient: { status: 409, code: 'two_factor_unavailable_for_client' },
  managedInGroupClient: { status: 409, code: 'two_factor_managed_in_group_client' },
  cannotDeactivateOwn: { status: 403, code: 'cannot_deactivate_own_two_factor' },
  secretUnavailable: { status: 503, code: 'two_factor_unavailable' },
} as const satisfies Record<string, ErrorKind>;
export class TwoFactorException extends ApiException {
  static required(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.twoFactorRequired,
      'Enter the code from your authenticator app first (POST /auth/two-factor)',
    );
  }

  static setupRequired(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.twoFactorSetupRequired,
      'Your deadline for setting up two-factor authentication has passed; set it up first',
    );
  }

  static invalidCode(): TwoFactorException {
    return new TwoFactorException(TWO_FACTOR_ERRORS.invalidCode, 'The code is not valid');
  }

  static locked(retryAfterSeconds: number): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.locked,
      'Too many wrong codes; code entry is locked for a while',
      retryAfterSeconds,
    );
  }

  static alreadyActive(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.alreadyActive,
      'Two-factor authentication is already active',
    );
  }

  static notActive(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.notActive,
      'Two-factor authentication is not active',
    );
  }

  static noPendingSetup(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.noPendingSetup,
      'There is no pending setup, or it expired; start the setup again',
    );
  }

  static unavailableForClient(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.unavailableForClient,
      'Two-factor authentication is not offered for this client',
    );
  }

  static managedInGroupClient(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.managedInGroupClient,
      'Your two-factor authentication is managed while the group client is active',
    );
  }

  static cannotDeactivateOwn(): TwoFactorException {
    return new TwoFactorException(
      TWO_FACTOR_ERRORS.cannotDeactivateOwn,
      'Administrators deactivate their own 2FA under My User',
    );
  }
}
