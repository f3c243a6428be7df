import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';

import { MailOutbox } from '../src/notifications/mail-outbox.entity';
import { PasswordHasher } from '../src/users/password-hasher';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  bearer,
  createClientWithAdministrator,
  createClient,
  createUser,
  loginToken,
  uniqueEmail,
} from './support/factories';
import { registeredRoutes, routeName } from './support/routes';
import { TestApp, createTestApp } from './support/test-app';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface ErrorSchema {
  required?: string[];
  properties?: { error?: { enum?: string[] } };
}

interface ErrorResponse {
  content?: { 'application/json'?: { schema?: ErrorSchema }; [type: string]: unknown };
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Partial<
      Record<
        Method,
        {
          security?: unknown[];
          responses: Record<string, ErrorResponse>;
        }
      >
    >
  >;
}

// The error codes API.md promises per route (the contract outside clients rely on).
const CONTRACT: Record<string, string[]> = {
  'POST /auth/login': ['invalid_credentials', 'too_many_attempts', 'server_busy'],
  'POST /auth/two-factor': ['invalid_code', 'two_factor_locked'],
  'POST /auth/recovery': ['invalid_code', 'two_factor_locked'],
  'POST /me/password': ['invalid_credentials', 'too_many_attempts'],
  'POST /me/two-factor/setup': [
    'invalid_credentials',
    'two_factor_already_active',
    'two_factor_unavailable_for_client',
    'two_factor_managed_in_group_client',
    'too_many_attempts',
  ],
  'POST /me/two-factor/confirm': [
    'invalid_code',
    'no_pending_setup',
    'two_factor_managed_in_group_client',
    'two_factor_locked',
  ],
  'DELETE /me/two-factor': [
    'invalid_code',
    'two_factor_not_active',
    'two_factor_managed_in_group_client',
    'two_factor_locked',
  ],
  'POST /me/two-factor/recovery-codes': [
    'invalid_code',
    'two_factor_not_active',
    'two_factor_managed_in_group_client',
    'two_factor_locked',
  ],
  'DELETE /me/trusted-devices/{id}': ['not_found'],
  'POST /me/client': ['client_not_accessible'],
  'PATCH /admin/settings': ['two_factor_unavailable_for_client'],
  'POST /admin/users': ['email_taken', 'not_found'],
  'PATCH /admin/users/{id}': ['cannot_change_own_exemption', 'last_administrator', 'not_found'],
  'DELETE /admin/users/{id}/two-factor': [
    'cannot_deactivate_own_two_factor',
    'not_found',
    'two_factor_not_active',
  ],
  'POST /apps/auth/login': ['invalid_credentials', 'too_many_attempts'],
  'GET /apps/me': ['wrong_channel'],
  'GET /health': ['database_unavailable'],
};

// Codes these routes answer beyond the contract table, each shown by an end-to-end spec:
// a password hash waits in the bounded queue, or a stored TOTP secret fails to decrypt.
const ALSO_ANSWERED: Record<string, string[]> = {
  'POST /apps/auth/login': ['server_busy'],
  'POST /me/password': ['server_busy'],
  'POST /me/two-factor/setup': ['server_busy'],
  'POST /admin/users': ['server_busy'],
  'POST /auth/two-factor': ['two_factor_unavailable'],
  'POST /me/two-factor/confirm': ['two_factor_unavailable'],
  'DELETE /me/two-factor': ['two_factor_unavailable'],
  'POST /me/two-factor/recovery-codes': ['two_factor_unavailable'],
};

const GUARD_CODES = ['unauthenticated', 'two_factor_required', 'two_factor_setup_required'];
const BODY_CODES = ['validation_failed', 'payload_too_large', 'unsupported_media_type'];

function documentedCodes(operation: { responses: Record<string, ErrorResponse> }): string[] {
  return Object.entries(operation.responses)
    .filter(([status]) => Number(status) >= 400)
    .flatMap(
      ([, response]) =>
        response.content?.['application/json']?.schema?.properties?.error?.enum ?? [],
    );
}

const REQUEST_METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

/**
 * Every handler of the application with the status it answers on success, read from Nest's
 * route metadata (@HttpCode, or 201 for POST and 200 otherwise), paths in OpenAPI form.
 */
function handlerRoutes(
  t: TestApp,
): { name: string; path: string; method: Method; status: number }[] {
  const routes: { name: string; path: string; method: Method; status: number }[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (!metatype) {
        continue;
      }
      const prototype = (metatype as { prototype: Record<string, unknown> }).prototype;
      const prefix = String(Reflect.getMetadata(PATH_METADATA, metatype) ?? '');
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[key];
        const verb = Reflect.getMetadata(METHOD_METADATA, handler as object) as number | undefined;
        if (typeof handler !== 'function' || key === 'constructor' || verb === undefined) {
          continue;
        }
        const method = REQUEST_METHODS[verb];
        const own = String(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        const path = `/${[prefix, own].filter((part) => part && part !== '/').join('/')}`
          .replace(/\/+/g, '/')
          .replace(/:(\w+)/g, '{$1}');
        const status =
          (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ??
          (method === 'post' ? 201 : 200);
        routes.push({ name: `${method.toUpperCase()} ${path}`, path, method, status });
      }
    }
  }

  return routes;
}

describe('service routes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('GET /health', () => {
    it('answers 200 with the database up and the state of mail', async () => {
      const answer = await t.http.get('/health');

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        status: 'ok',
        database: 'up',
        mail: { backlog: expect.any(Number), failed: expect.any(Number) },
      });
    });

    it('counts mail waiting in the outbox and mail given up on', async () => {
      const before = (await t.http.get('/health')).body.mail;
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      const failed = await t.dataSource.getRepository(MailOutbox).findOneByOrFail({
        recipient: user.email,
      });
      await t.dataSource.getRepository(MailOutbox).update({ id: failed.id }, { status: 'failed' });
      await activateTwoFactor(
        t,
        await loginToken(t, (await createUser(t, { clientId: client.id })).email),
      );

      const after = (await t.http.get('/health')).body.mail;

      expect(after).toEqual({ backlog: before.backlog + 1, failed: before.failed + 1 });
    });

    it('ignores credentials, even wrong ones', async () => {
      const answer = await t.http.get('/health').set(bearer('not a session'));

      expect(answer.status).toBe(200);
    });
  });

  describe('caching', () => {
    it('answers no-store without an ETag, to session answers and to errors alike', async () => {
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id });
      const loginAnswer = await t.http
        .post('/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD });
      const token = (loginAnswer.body as { sessionToken: string }).sessionToken;
      const answers = [
        loginAnswer,
        await t.http.get('/me').set(bearer(token)),
        await t.http.get('/me'),
        await t.http.get('/health'),
      ];

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 401, 200]);
      for (const answer of answers) {
        expect(answer.headers['cache-control']).toBe('no-store');
        expect(answer.headers.etag).toBeUndefined();
      }
    });
  });

  describe('OpenAPI', () => {
    let document: OpenApiDocument;

    beforeAll(async () => {
      const answer = await t.http.get('/docs-json');
      expect(answer.status).toBe(200);
      document = answer.body as OpenApiDocument;
    });

    function operations(): {
      name: string;
      method: Method;
      operation: NonNullable<OpenApiDocument['paths'][string][Method]>;
    }[] {
      return Object.entries(document.paths).flatMap(([path, item]) =>
        (
          Object.entries(item) as [Method, NonNullable<OpenApiDocument['paths'][string][Method]>][]
        ).map(([method, operation]) => ({
          name: `${method.toUpperCase()} ${path}`,
          method,
          operation,
        })),
      );
    }

    it('serves the UI at /docs and the document at /docs-json, whatever the credentials', async () => {
      const ui = await t.http.get('/docs').set(bearer('not a session')).redirects(1);

      expect(ui.status).toBe(200);
      expect(ui.headers['content-type']).toContain('text/html');
      expect(document.openapi).toMatch(/^3\./);
      expect((await t.http.get('/docs-json').set(bearer('x'))).status).toBe(200);
    });

    it('describes every route the application serves', () => {
      const described = new Set(operations().map((entry) => entry.name));

      const missing = registeredRoutes(t)
        .map((route) => routeName({ ...route, path: route.path.replace(/:(\w+)/g, '{$1}') }))
        .filter((name) => !described.has(name));

      expect(missing).toEqual([]);
    });

    it('documents for every route the success status it answers, with its body', () => {
      const wrong: string[] = [];
      for (const route of handlerRoutes(t)) {
        const operation = document.paths[route.path]?.[route.method];
        const successes = Object.keys(operation?.responses ?? {}).filter((code) =>
          code.startsWith('2'),
        );
        const body = operation?.responses[String(route.status)]?.content;
        const hasBody = body !== undefined && Object.keys(body).length > 0;
        if (successes.join() !== String(route.status) || hasBody !== (route.status !== 204)) {
          wrong.push(
            `${route.name}: answers ${route.status}, documents ${successes.join() || 'none'}`,
          );
        }
      }

      expect(handlerRoutes(t).length).toBeGreaterThan(20);
      expect(wrong).toEqual([]);
    });

    it('lists for every route the error codes it answers', () => {
      const missing: string[] = [];
      for (const { name, method, operation } of operations()) {
        const expected = [
          ...(CONTRACT[name] ?? []),
          ...(ALSO_ANSWERED[name] ?? []),
          ...(operation.security?.length ? GUARD_CODES : []),
          ...(method === 'get' ? ['validation_failed'] : BODY_CODES),
        ];
        const documented = documentedCodes(operation);
        missing.push(
          ...expected
            .filter((code) => !documented.includes(code))
            .map((code) => `${name}: ${code}`),
        );
      }

      expect(missing).toEqual([]);
    });

    it('documents every error response with its codes and the error shape', () => {
      for (const { name, operation } of operations()) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) {
            continue;
          }
          const schema = response.content?.['application/json']?.schema;
          expect({ name, status, required: schema?.required }).toEqual({
            name,
            status,
            required: ['statusCode', 'error', 'message'],
          });
          expect(schema?.properties?.error?.enum?.length).toBeGreaterThan(0);
        }
      }
    });
  });
});

describe('a saturated password hasher', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '0' } });
  });
  afterAll(() => t.close());

  it('answers 503 server_busy with Retry-After on every route that hashes or checks a password', async () => {
    const { client, admin, token } = await createClientWithAdministrator(t);
    const user = await createUser(t, { clientId: client.id });
    const userToken = await loginToken(t, user.email);
    // One hash that does not finish until released holds the only slot; the queue holds none.
    let release = (): void => undefined;
    const slow = new Promise<string>((resolve) => {
      release = () => resolve('released');
    });
    // The module object itself: the product reads its functions through import getters.
    const argon2 = jest.requireActual<typeof import('argon2')>('argon2');
    const hash = jest.spyOn(argon2, 'hash').mockImplementationOnce(() => slow);
    const holding = t.get(PasswordHasher).hash('held');

    try {
      const answers = [
        await t.http.post('/auth/login').send({ email: user.email, password: DEFAULT_PASSWORD }),
        await t.http
          .post('/apps/auth/login')
          .send({ email: user.email, password: DEFAULT_PASSWORD, app: 'web-check-in' }),
        await t.http
          .post('/me/password')
          .set(bearer(userToken))
          .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another long password' }),
        await t.http
          .post('/me/two-factor/setup')
          .set(bearer(userToken))
          .send({ password: DEFAULT_PASSWORD }),
        await t.http.post('/admin/users').set(bearer(token)).send({
          email: uniqueEmail(),
          name: 'Queued',
          password: DEFAULT_PASSWORD,
          permissions: [],
        }),
      ];

      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.body.error).toBe('server_busy');
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      release();
      await holding;
      hash.mockRestore();
    }
    expect(
      (await t.http.post('/auth/login').send({ email: admin.email, password: DEFAULT_PASSWORD }))
        .status,
    ).toBe(200);
  });
});
