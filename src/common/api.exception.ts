import { HttpException } from '@nestjs/common';

/**
 * An error with a stable snake_case code. The global filter writes it as
 * `{ statusCode, error, message }`; `retryAfterSeconds` becomes the Retry-After header.
 */
export class ApiException extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super({ statusCode: status, error: code, message }, status);
  }
}
