import {
  ArgumentsHost,
  BadGatewayException,
  BadRequestException,
  ForbiddenException,
  HttpException,
  Logger,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { QueryFailedError, TypeORMError } from 'typeorm';

import { TwoFactorException } from '../two-factor/two-factor.exception';
import { UsersException } from '../users/users.exception';
import { ApiExceptionFilter } from './api-exception.filter';
import { CommonException } from './common.exception';

interface Written {
  status?: number;
  body?: unknown;
  headers: Record<string, string>;
}

function handle(exception: unknown, options: { headersSent?: boolean } = {}): Written {
  const written: Written = { headers: {} };
  const response = {
    headersSent: options.headersSent ?? false,
    setHeader: (name: string, value: string) => {
      written.headers[name] = value;
    },
    status(code: number) {
      written.status = code;

      return this;
    },
    json(body: unknown) {
      written.body = body;

      return this;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ id: 'req-1' }) }),
  } as unknown as ArgumentsHost;
  new ApiExceptionFilter().catch(exception, host);

  return written;
}

function queryFailed(code: string, message = 'query failed'): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), { code }));
}

describe('ApiExceptionFilter', () => {
  let logged: jest.SpyInstance;

  beforeEach(() => {
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => logged.mockRestore());

  it('writes our exceptions as { statusCode, error, message }', () => {
    const written = handle(UsersException.emailTaken());

    expect(written.status).toBe(409);
    expect(written.body).toEqual({
      statusCode: 409,
      error: 'email_taken',
      message: 'A user with this email already exists',
    });
    expect(written.headers).toEqual({});
  });

  it('sends the Retry-After an exception carries', () => {
    const written = handle(TwoFactorException.locked(840));

    expect(written.status).toBe(429);
    expect(written.headers['Retry-After']).toBe('840');
  });

  it('adds a Retry-After to a 429 or 503 that carries none', () => {
    const written = handle(
      new CommonException({ status: 503, code: 'server_busy' }, 'The server is busy'),
    );

    expect(written.headers['Retry-After']).toBe('5');
  });

  it("answers the throttler's exception as 429 too_many_attempts with Retry-After", () => {
    const written = handle(new ThrottlerException());

    expect(written.status).toBe(429);
    expect(written.body).toMatchObject({ statusCode: 429, error: 'too_many_attempts' });
    expect(Number(written.headers['Retry-After'])).toBeGreaterThan(0);
  });

  it.each([
    [new BadRequestException('bad'), 400, 'validation_failed'],
    [new UnauthorizedException(), 401, 'unauthenticated'],
    [new ForbiddenException(), 403, 'forbidden'],
    [new NotFoundException('Cannot GET /nowhere'), 404, 'not_found'],
    [new MethodNotAllowedException(), 405, 'method_not_allowed'],
    [new PayloadTooLargeException(), 413, 'payload_too_large'],
    [new UnsupportedMediaTypeException(), 415, 'unsupported_media_type'],
    [new BadGatewayException(), 502, 'internal_error'],
  ])('gives a stable code to a framework error of status %#', (exception, status, code) => {
    const written = handle(exception);

    expect(written.status).toBe(status);
    expect(written.body).toEqual({ statusCode: status, error: code, message: expect.any(String) });
  });

  it('joins a list of messages into one string', () => {
    const written = handle(new BadRequestException(['email is wrong', 'name is missing']));

    expect((written.body as { message: string }).message).toBe('email is wrong; name is missing');
  });

  it('keeps a plain string response as the message', () => {
    const written = handle(new HttpException('I am a teapot', 418));

    expect(written.body).toMatchObject({ statusCode: 418, message: 'I am a teapot' });
  });

  it.each([
    ['a refused connection', queryFailed('ECONNREFUSED')],
    ['a lost connection', queryFailed('PROTOCOL_CONNECTION_LOST')],
    ['a busy SQLite file', queryFailed('SQLITE_BUSY')],
    ['a closed pool', new TypeORMError('Pool is closed.')],
    ['a driver error outside TypeORM', Object.assign(new Error('connect'), { code: 'ETIMEDOUT' })],
  ])('answers %s as 503 database_unavailable with Retry-After', (_case, exception) => {
    const written = handle(exception);

    expect(written.status).toBe(503);
    expect(written.body).toMatchObject({ error: 'database_unavailable' });
    expect(written.headers['Retry-After']).toBe('5');
  });

  it('does not take a failed query for an unavailable database', () => {
    const written = handle(queryFailed('ER_DUP_ENTRY', "Duplicate entry 'x' for key"));

    expect(written.status).toBe(500);
    expect(written.body).toEqual({
      statusCode: 500,
      error: 'internal_error',
      message: 'Internal error',
    });
  });

  it('answers an unknown error as 500 internal_error without its message, and logs it', () => {
    const written = handle(new Error('secret detail of a bug'));

    expect(written.status).toBe(500);
    expect(JSON.stringify(written.body)).not.toContain('secret detail');
    expect(written.headers).toEqual({});
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({ requestId: 'req-1', code: 'internal_error' }),
      'Request failed with 500',
    );
  });

  it('answers a thrown non-error as 500 internal_error', () => {
    expect(handle('a string').status).toBe(500);
    expect(handle(null).status).toBe(500);
    expect(handle(undefined).status).toBe(500);
  });

  it('does not log a busy server as a fault, nor client errors', () => {
    handle(CommonException.serverBusy(1));
    handle(CommonException.notFound());

    expect(logged).not.toHaveBeenCalled();
  });

  it('writes nothing once the headers are sent', () => {
    const written = handle(CommonException.notFound(), { headersSent: true });

    expect(written.status).toBeUndefined();
    expect(written.body).toBeUndefined();
  });
});
