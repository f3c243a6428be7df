import { ApiException, ErrorKind } from '../common/api.exception';

export const CLIENTS_ERRORS = {
  clientNotAccessible: { status: 403, code: 'client_not_accessible' },
  invalidGroup: { status: 409, code: 'invalid_group' },
} as const satisfies Record<string, ErrorKind>;
export class ClientsException extends ApiException {
  static notAccessible(): ClientsException {
    return new ClientsException(
      CLIENTS_ERRORS.clientNotAccessible,
      'You cannot switch to this client',
    );
  }

  static invalidGroup(message: string): ClientsException {
    return new ClientsException(CLIENTS_ERRORS.invalidGroup, message);
  }
}
