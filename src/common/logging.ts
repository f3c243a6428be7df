import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';

import { Environment } from '../../config/environment';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_FORMAT = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Structured logs (pino) with a request id on every line: the caller's X-Request-Id when it
 * is well formed, a new UUID otherwise. Credentials are redacted and bodies never logged.
 */
export function loggerOptions(env: Environment): Params {
  return {
    pinoHttp: {
      level: env.LOG_LEVEL,
      genReqId: (request: IncomingMessage, response) => {
        const given = request.headers[REQUEST_ID_HEADER];
        const id =
          typeof given === 'string' && REQUEST_ID_FORMAT.test(given) ? given : randomUUID();
        response.setHeader('X-Request-Id', id);

        return id;
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          'req.headers["x-trusted-device"]',
        ],
        censor: '[redacted]',
      },
      serializers: {
        // Method, path without the query string, and the request id: no bodies, no queries.
        req: (request: { id: unknown; method: string; url: string; headers: unknown }) => ({
          id: request.id,
          method: request.method,
          url: request.url.split('?')[0],
          headers: request.headers,
        }),
      },
      // Security events (failed logins and codes, locks) are logged at warn by the services.
      customLogLevel: (_request, response, error) =>
        error || response.statusCode >= 500 ? 'error' : 'info',
    },
  };
}
