import { ApiException, ErrorKind } from './api.exception';

export const COMMON_ERRORS = {
  validationFailed: { status: 400, code: 'validation_failed' },
  malformedRequest: { status: 400, code: 'malformed_request' },
  unauthenticated: { status: 401, code: 'unauthenticated' },
  forbidden: { status: 403, code: 'forbidden' },
  wrongChannel: { status: 403, code: 'wrong_channel' },
  csrfHeaderMissing: { status: 403, code: 'csrf_header_missing' },
  notFound: { status: 404, code: 'not_found' },
  methodNotAllowed: { status: 405, code: 'method_not_allowed' },
  payloadTooLarge: { status: 413, code: 'payload_too_large' },
  requestTimeout: { status: 408, code: 'request_timeout' },
  unsupportedMediaType: { status: 415, code: 'unsupported_media_type' },
  headersTooLarge: { status: 431, code: 'headers_too_large' },
  tooManyAttempts: { status: 429, code: 'too_many_attempts' },
  internalError: { status: 500, code: 'internal_error' },
  serverBusy: { status: 503, code: 'server_busy' },
  databaseUnavailable: { status: 503, code: 'database_unavailable' },
} as const satisfies Record<string, ErrorKind>;

export class CommonException extends ApiException {
  static validation(message: string): CommonException {
    return new CommonException(COMMON_ERRORS.validationFailed, message);
  }

  static unauthenticated(): CommonException {
    return new CommonException(COMMON_ERRORS.unauthenticated, 'A valid session is required');
  }

  static forbidden(message = 'You may not do this'): CommonException {
    return new CommonException(COMMON_ERRORS.forbidden, message);
  }

  static wrongChannel(message: string): CommonException {
    return new CommonException(COMMON_ERRORS.wrongChannel, message);
  }

  static csrfHeaderMissing(): CommonException {
    return new CommonException(
      COMMON_ERRORS.csrfHeaderMissing,
      'A write authenticated by cookie needs the X-Requested-With header',
    );
  }

  static notFound(what = 'Resource'): CommonException {
    return new CommonException(COMMON_ERRORS.notFound, `${what} not found`);
  }

  static payloadTooLarge(): CommonException {
    return new CommonException(
      COMMON_ERRORS.payloadTooLarge,
      'The request body is larger than 100 kB',
    );
  }

  static unsupportedMediaType(): CommonException {
    return new CommonException(
      COMMON_ERRORS.unsupportedMediaType,
      'Send the request body as UTF-8 application/json',
    );
  }

  static serverBusy(retryAfterSeconds: number): CommonException {
    return new CommonException(
      COMMON_ERRORS.serverBusy,
      'The server is busy; try again shortly',
      retryAfterSeconds,
    );
  }

  static databaseUnavailable(): CommonException {
    return new CommonException(
      COMMON_ERRORS.databaseUnavailable,
      'The database is unavailable; try again shortly',
      5,
    );
  }
}
