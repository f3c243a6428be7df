import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Response } from 'express';
import { QueryFailedError, TypeORMError } from 'typeorm';

import { DATABASE_TIMEOUT_CODES } from '../database/mysql-deadlines';
import { ApiException } from './api.exception';
import { COMMON_ERRORS } from './common.exception';
import { AppRequest } from './request-context';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

// Codes for errors raised by Nest or a library rather than by our exceptions.
const CODES_BY_STATUS: Record<number, string> = Object.fromEntries(
  [
    COMMON_ERRORS.validationFailed,
    COMMON_ERRORS.unauthenticated,
    COMMON_ERRORS.forbidden,
    COMMON_ERRORS.notFound,
    COMMON_ERRORS.methodNotAllowed,
    COMMON_ERRORS.payloadTooLarge,
    COMMON_ERRORS.unsupportedMediaType,
    COMMON_ERRORS.tooManyAttempts,
    COMMON_ERRORS.serverBusy,
  ].map((kind) => [kind.status, kind.code]),
);

// Connection-level failures: the database is down or unreachable, not a bad query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  ...DATABASE_TIMEOUT_CODES,
]);

/**
 * Writes every error as `{ statusCode, error, message }` with a stable snake_case code, adds
 * Retry-After to 429 and 503, and logs server faults with the request id.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const response = context.getResponse<Response>();
    const request = context.getRequest<AppRequest>();
    const { body, retryAfter } = this.describe(exception);

    if (body.statusCode >= 500 && body.error !== COMMON_ERRORS.serverBusy.code) {
      this.logger.error(
        { err: exception, requestId: request.id, code: body.error },
        `Request failed with ${body.statusCode}`,
      );
    }
    if (response.headersSent) {
      return;
    }
    if (retryAfter !== undefined) {
      response.setHeader('Retry-After', String(retryAfter));
    }
    response.status(body.statusCode).json(body);
  }

  private describe(exception: unknown): { body: ErrorBody; retryAfter?: number } {
    if (exception instanceof ApiException) {
      return {
        body: exception.getResponse() as ErrorBody,
        retryAfter: exception.retryAfterSeconds ?? this.defaultRetryAfter(exception.getStatus()),
      };
    }
    if (exception instanceof ThrottlerException) {
      return {
        body: {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: COMMON_ERRORS.tooManyAttempts.code,
          message: 'Too many login attempts from this address; try again later',
        },
        retryAfter: 60,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();

      return {
        body: {
          statusCode: status,
          error:
            CODES_BY_STATUS[status] ??
            (status >= 500
              ? COMMON_ERRORS.internalError.code
              : COMMON_ERRORS.validationFailed.code),
          message: this.messageOf(exception),
        },
        retryAfter: this.defaultRetryAfter(status),
      };
    }
    if (this.isDatabaseUnavailable(exception)) {
      return {
        body: {
          statusCode: HttpStatus.SERVICE_UNAVAILABLE,
          error: COMMON_ERRORS.databaseUnavailable.code,
          message: 'The database is unavailable; try again shortly',
        },
        retryAfter: 5,
      };
    }

    return {
      body: {
        statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
        error: COMMON_ERRORS.internalError.code,
        message: 'Internal error',
      },
    };
  }

  private messageOf(exception: HttpException): string {
    // Nest's answer to a path parameter that is not percent-encoding repeats the parameter.
    if (exception.getStatus() === 400 && exception.message.startsWith('Failed to decode param')) {
      return 'path: a parameter is not valid percent-encoding';
    }
    const response = exception.getResponse();
    if (typeof response === 'string') {
      return response;
    }
    const message = (response as { message?: unknown }).message;
    if (Array.isArray(message)) {
      return message.map(String).join('; ');
    }

    return typeof message === 'string' ? message : exception.message;
  }

  private defaultRetryAfter(status: number): number | undefined {
    return status === 429 || status === 503 ? 5 : undefined;
  }

  private isDatabaseUnavailable(exception: unknown): boolean {
    if (!(exception instanceof TypeORMError || exception instanceof QueryFailedError)) {
      const code = (exception as { code?: unknown } | null)?.code;

      return typeof code === 'string' && UNAVAILABLE_CODES.has(code);
    }
    const driverError = (exception as { driverError?: { code?: unknown } }).driverError;
    const code = driverError?.code ?? (exception as { code?: unknown }).code;

    return (
      (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
      /connect|pool is closed|connection lost/i.test(exception.message)
    );
  }
}
