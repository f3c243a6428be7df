import { HttpStatus } from '@nestjs/common';

import { ApiException } from './api.exception';

export enum CommonErrorCode {
  ValidationFailed = 'validation_failed',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  CsrfHeaderMissing = 'csrf_header_missing',
  TooManyRequests = 'too_many_attempts',
  ServerBusy = 'server_busy',
  DatabaseUnavailable = 'database_unavailable',
  MethodNotAllowed = 'method_not_allowed',
  InternalError = 'internal_error',
}

export class CommonException extends ApiException {
  static validation(message: string): CommonException {
    return new CommonException(HttpStatus.BAD_REQUEST, CommonErrorCode.ValidationFailed, message);
  }

  static unauthenticated(): CommonException {
    return new CommonException(
      HttpStatus.UNAUTHORIZED,
      CommonErrorCode.Unauthenticated,
      'A valid session is required',
    );
  }

  static forbidden(message = 'You may not do this'): CommonException {
    return new CommonException(HttpStatus.FORBIDDEN, CommonErrorCode.Forbidden, message);
  }

  static notFound(what = 'Resource'): CommonException {
    return new CommonException(HttpStatus.NOT_FOUND, CommonErrorCode.NotFound, `${what} not found`);
  }

  static serverBusy(retryAfterSeconds: number): CommonException {
    return new CommonException(
      HttpStatus.SERVICE_UNAVAILABLE,
      CommonErrorCode.ServerBusy,
      'The server is busy; try again shortly',
      retryAfterSeconds,
    );
  }

  static databaseUnavailable(): CommonException {
    return new CommonException(
      HttpStatus.SERVICE_UNAVAILABLE,
      CommonErrorCode.DatabaseUnavailable,
      'The database is unavailable; try again shortly',
      5,
    );
  }
}
