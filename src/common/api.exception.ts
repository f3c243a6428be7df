import { HttpException } from '@nestjs/common';

/** A stable error: its HTTP status and snake_case code. Routes list them in OpenAPI. */
export interface ErrorKind {
  readonly status: number;
  readonly code: string;
}

/**
 * An error with a stable snake_case code. The global filter writes it as
 * `{ statusCode, error, message }`; `retryAfterSeconds` becomes the Retry-After header.
 */
export class ApiException extends HttpException {
  readonly code: string;

  constructor(
    kind: ErrorKind,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super({ statusCode: kind.status, error: kind.code, message }, kind.status);
    this.code = kind.code;
  }
}
