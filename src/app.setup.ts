import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { NextFunction, Request, RequestHandler, Response, json } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';

import { Environment } from '../config/environment';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { HTTP_LOGGER } from './common/logging';
import { answerClientErrorsInShape } from './common/http-client-errors';
import { documentGuardErrors } from './common/openapi';
import { UndeclaredInputInterceptor } from './common/undeclared-input.interceptor';
import {
  StrictValidationPipe,
  mapBodyParserErrors,
  requireJsonBodies,
  requireUtf8,
} from './common/validation';

export const BODY_LIMIT = '100kb';

/** What main.ts and the tests both apply to the application: one HTTP stack. */
export function configureApp(app: NestExpressApplication, env: Environment): void {
  app.useLogger(app.get(Logger));
  app.use(app.get<RequestHandler>(HTTP_LOGGER));
  app.set('trust proxy', trustProxySetting(env.TRUST_PROXY));
  app.disable('x-powered-by');
  // Answers are personal (sessions, setup secrets, recovery codes): no cache keeps them, and an
  // ETag, a hash of each body, would only help a cache.
  app.set('etag', false);
  app.use(noStore);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // The OpenAPI UI at /docs uses inline styles; nothing else is served as HTML.
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          // Behind TLS in production; in development the UI is served over plain HTTP.
          'upgrade-insecure-requests': env.NODE_ENV === 'production' ? [] : null,
        },
      },
    }),
  );
  app.use(cookieParser());
  app.use(requireJsonBodies);
  app.use(json({ limit: BODY_LIMIT, verify: requireUtf8 }), mapBodyParserErrors);
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalInterceptors(new UndeclaredInputInterceptor());
  app.useGlobalFilters(new ApiExceptionFilter());
  answerClientErrorsInShape(app.getHttpServer());
  setUpOpenApi(app);
}

function noStore(_request: Request, response: Response, next: NextFunction): void {
  response.setHeader('Cache-Control', 'no-store');
  next();
}

export function openApiDocument(app: INestApplication) {
  const config = new DocumentBuilder()
    .setTitle('Backoffice authentication')
    .setDescription(
      'Login, TOTP two-factor authentication, sessions, administration and app channels. ' +
        'Every error is { statusCode, error, message } with a stable snake_case `error` code; ' +
        'each route lists the codes it answers.',
    )
    .setVersion('1')
    .addBearerAuth()
    .addCookieAuth('session')
    .build();

  return documentGuardErrors(SwaggerModule.createDocument(app, config));
}

function setUpOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => openApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
}

/** TRUST_PROXY: off, on, a hop count, or addresses and subnets (Express's forms). */
export function trustProxySetting(value: string): boolean | number | string {
  if (value === 'off') {
    return false;
  }
  if (value === 'on') {
    return true;
  }

  return /^\d+$/.test(value) ? Number(value) : value;
}
