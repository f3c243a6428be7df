import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { HttpLogger, Options, pinoHttp } from 'pino-http';

import { Environment } from '../../config/environment';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID_FORMAT = /^[A-Za-z0-9._-]{1,64}$/;

type RequestHeaders = Record<string, string | string[] | undefined>;

const LOGGED_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-requested-with'];
// Present or not is worth knowing; the value never is.
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'x-trusted-device'];

function loggedHeaders(headers: RequestHeaders): Record<string, string | string[]> {
  const logged: Record<string, string | string[]> = {};
  for (const name of LOGGED_HEADERS) {
    const value = headers[name];
    if (value !== undefined) {
      logged[name] = value;
    }
  }
  for (const name of CREDENTIAL_HEADERS) {
    if (headers[name] !== undefined) {
      logged[name] = '[redacted]';
    }
  }

  return logged;
}

/**
 * Structured logs (pino) with a request id on every line: the caller's X-Request-Id when it
 * is well formed, a new UUID otherwise. Credentials are redacted and bodies never logged.
 */
function httpLoggerOptions(env: Environment): Options {
  return {
    level: env.LOG_LEVEL,
    genReqId: (request: IncomingMessage, response) => {
      const given = request.headers[REQUEST_ID_HEADER];
      const id = typeof given === 'string' && REQUEST_ID_FORMAT.test(given) ? given : randomUUID();
      response.setHeader('X-Request-Id', id);

      return id;
    },
    redact: {
      paths: ['res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
    serializers: {
      // Method, path without the query string, the request id and a few headers named here:
      // no bodies, no queries, no addresses (X-Forwarded-For), no header we do not know.
      req: (request: { id: unknown; method: string; url: string; headers: RequestHeaders }) => ({
        id: request.id,
        method: request.method,
        url: request.url.split('?')[0],
        headers: loggedHeaders(request.headers),
      }),
    },
    // Security events (failed logins and codes, locks) are logged at warn by the services.
    customLogLevel: (_request, response, error) =>
      error || response.statusCode >= 500 ? 'error' : 'info',
  };
}

/** The access-log middleware; configureApp puts it first, before any middleware can refuse. */
export const HTTP_LOGGER = Symbol('HTTP_LOGGER');

/**
 * Logging for the application: one pino logger, whose HTTP middleware writes a line for every
 * answer (also those the body parser or the media-type check refuse, which never reach a
 * route) and whose request-bound children nestjs-pino hands to the services' loggers.
 */
@Global()
@Module({})
export class LoggingModule {
  /** `destination`: where the lines go (standard output unless given; tests read them). */
  static register(env: Environment, destination?: DestinationStream): DynamicModule {
    const middleware: HttpLogger = pinoHttp(httpLoggerOptions(env), destination);

    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: { logger: middleware.logger }, useExisting: true }),
      ],
      providers: [{ provide: HTTP_LOGGER, useValue: middleware }],
      exports: [HTTP_LOGGER],
    };
  }
}
