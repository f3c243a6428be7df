import type { ArgumentsHost } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';

import { DatabaseTimeoutError } from '../database/mysql-deadlines';
import { ApiExceptionFilter } from './api-exception.filter';

interface Written {
  status?: number;
  body?: unknown;
  headers: Record<string, string>;
}

function answer(exception: unknown): Written {
  const written: Written = { headers: {} };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => {
      written.headers[name] = value;
    },
    status: (status: number) => {
      written.status = status;

      return { json: (body: unknown) => (written.body = body) };
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({ id: 'req-1' }) }),
  } as unknown as ArgumentsHost;
  const filter = new ApiExceptionFilter();
  jest.spyOn(filter['logger'], 'error').mockImplementation(() => undefined);
  filter.catch(exception, host);

  return written;
}

describe('ApiExceptionFilter', () => {
  const unavailable = {
    statusCode: 503,
    error: 'database_unavailable',
    message: 'The database is unavailable; try again shortly',
  };

  it('answers 503 database_unavailable when a statement got no answer in time', () => {
    const timeout = new DatabaseTimeoutError('DB_QUERY_TIMEOUT', 'No answer in 2000 ms');
    const written = answer(new QueryFailedError('SELECT 1', [], timeout));

    expect(written.status).toBe(503);
    expect(written.body).toEqual(unavailable);
    expect(written.headers['Retry-After']).toBe('5');
  });

  it('answers 503 database_unavailable when no connection came in time', () => {
    const written = answer(new DatabaseTimeoutError('DB_ACQUIRE_TIMEOUT', 'No connection'));

    expect(written.status).toBe(503);
    expect(written.body).toEqual(unavailable);
  });

  it('answers 500 internal_error for an error it does not know', () => {
    const written = answer(new Error('boom'));

    expect(written.status).toBe(500);
    expect(written.body).toMatchObject({ error: 'internal_error' });
  });
});
