import { gzipSync } from 'node:zlib';
import type { Response } from 'supertest';

import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  bearer,
  createClientWithAdministrator,
  createClient,
  createTwoFactorUser,
  createUser,
  issueSession,
  loginToken,
  uniqueEmail,
} from './support/factories';
import { concretePath, registeredRoutes, routeName } from './support/routes';
import { TestApp, createTestApp } from './support/test-app';

function expectErrorShape(answer: Response, status: number, error?: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({
    statusCode: status,
    error: error ?? expect.stringMatching(/^[a-z]+(_[a-z]+)*$/),
    message: expect.any(String),
  });
}

interface RawBody {
  name: string;
  contentType?: string;
  encoding?: string;
  body: string | Buffer;
}

// Bodies no route takes. Each must be refused with a 4xx error, never a 500.
const HOSTILE_BODIES: RawBody[] = [
  { name: 'malformed JSON', body: '{"email": "a@example.com",' },
  { name: 'a JSON array', body: '[{"email": "a@example.com"}]' },
  { name: 'an empty JSON array', body: '[]' },
  { name: 'a JSON string', body: '"a@example.com"' },
  { name: 'a JSON number', body: '42' },
  { name: 'JSON null', body: 'null' },
  { name: 'JSON true', body: 'true' },
  { name: 'an empty object', body: '{}' },
  { name: 'a __proto__ key', body: '{"__proto__": {"admin": true}}' },
  { name: 'a constructor key', body: '{"constructor": {"prototype": {"admin": true}}}' },
  { name: 'a prototype key', body: '{"prototype": {}}' },
  {
    name: 'Object.prototype names as keys',
    body: '{"toString": 1, "valueOf": "x", "hasOwnProperty": []}',
  },
  { name: 'deep nesting', body: `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}` },
  {
    name: 'very deep nesting in known fields',
    body: `{"email":${'['.repeat(30000)}${']'.repeat(30000)},"name":${'['.repeat(20000)}${']'.repeat(20000)}}`,
  },
  {
    name: 'every field as an object',
    body: JSON.stringify(
      Object.fromEntries(
        [
          'email',
          'password',
          'currentPassword',
          'newPassword',
          'code',
          'recoveryCode',
          'name',
          'permissions',
          'active',
          'clientId',
          'trustDevice',
          'trustedDeviceToken',
          'app',
          'twoFactorExempt',
        ].map((field) => [field, { $gt: '' }]),
      ),
    ),
  },
  {
    name: 'every field as an array of nulls',
    body: JSON.stringify({
      email: [null],
      password: [null],
      code: [null],
      name: [null],
      permissions: [null, null],
      clientId: [null],
    }),
  },
  { name: 'numbers beyond doubles', body: '{"clientId": 1e400, "code": -1e400, "active": 1e-400}' },
  {
    name: 'a lone surrogate and NUL',
    body: '{"email": "\\ud800@example.com", "name": "a\\u0000b", "password": "\\udfff\\u0000"}',
  },
  {
    name: 'a byte-order mark before JSON',
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]),
  },
  {
    name: 'bytes that are not UTF-8',
    body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  },
  { name: 'a body over 100 kB', body: JSON.stringify({ name: 'x'.repeat(101 * 1024) }) },
  {
    name: 'a charset JSON does not use',
    contentType: 'application/json; charset=latin1',
    body: '{}',
  },
  { name: 'a gzip body that is not gzip', encoding: 'gzip', body: 'not gzip at all' },
  { name: 'a deflate body that is not deflate', encoding: 'deflate', body: 'not deflate' },
  { name: 'an unknown content encoding', encoding: 'x-unknown', body: '{}' },
  {
    name: 'a gzip bomb',
    encoding: 'gzip',
    body: gzipSync(Buffer.from(`{"a":"${'0'.repeat(2_000_000)}"}`)),
  },
  { name: 'text/plain', contentType: 'text/plain', body: 'hello' },
];

describe('input validation', () => {
  let t: TestApp;
  let clientId: number;

  beforeAll(async () => {
    t = await createTestApp();
    clientId = (await createClient(t)).id;
  });
  afterAll(() => t.close());

  describe('the error shape', () => {
    it('answers { statusCode, error, message } with one message naming every bad field', async () => {
      const { token } = await createClientWithAdministrator(t);

      const answer = await t.http.post('/admin/users').set(bearer(token)).send({});

      expectErrorShape(answer, 400, 'validation_failed');
      for (const field of ['email', 'name', 'password', 'permissions']) {
        expect(answer.body.message).toContain(field);
      }
    });

    it('answers an unknown route with 404 not_found in the same shape', async () => {
      expectErrorShape(await t.http.get('/no/such/route'), 404, 'not_found');
    });
  });

  describe('bodies', () => {
    it('answers malformed JSON with 400 validation_failed', async () => {
      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"email": ');

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toContain('body');
    });

    it.each([
      ['an array', '[]'],
      ['a string', '"ada@example.com"'],
      ['a number', '1'],
    ])('answers %s as the body with 400', async (_case, body) => {
      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(body);

      expectErrorShape(answer, 400, 'validation_failed');
    });

    it.each([
      ['an email as a number', { email: 42, password: DEFAULT_PASSWORD }, 'email'],
      ['a password as an object', { email: 'a@example.com', password: { a: 1 } }, 'password'],
      ['a password as an array', { email: 'a@example.com', password: ['x'] }, 'password'],
      ['an unknown field', { email: 'a@example.com', password: 'x', admin: true }, 'admin'],
      [
        'a null optional field',
        { email: 'a@example.com', password: 'x', trustedDeviceToken: null },
        'trustedDeviceToken',
      ],
    ])('answers %s at login with 400 naming it', async (_case, body, field) => {
      const answer = await t.http.post('/auth/login').send(body);

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toContain(field);
    });

    it.each(['__proto__', 'constructor', 'prototype'])(
      'refuses a %s key with 400 and pollutes no prototype',
      async (key) => {
        const answer = await t.http
          .post('/auth/login')
          .set('Content-Type', 'application/json')
          .send(`{"email": "a@example.com", "password": "x", "${key}": {"polluted": true}}`);

        expectErrorShape(answer, 400, 'validation_failed');
        expect(answer.body.message).toContain(key);
        expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
      },
    );

    it('answers a body over 100 kB with 413 payload_too_large, and takes one just under it', async () => {
      const user = await createUser(t, { clientId });
      const token = await loginToken(t, user.email);
      const filler = (size: number) => JSON.stringify({ code: '1'.repeat(size) });

      const over = await t.http
        .post('/me/two-factor/confirm')
        .set(bearer(token))
        .set('Content-Type', 'application/json')
        .send(filler(100 * 1024));
      const under = await t.http
        .post('/me/two-factor/confirm')
        .set(bearer(token))
        .set('Content-Type', 'application/json')
        .send(filler(100 * 1024 - 20));

      expectErrorShape(over, 413, 'payload_too_large');
      expectErrorShape(under, 400, 'validation_failed');
    });

    it.each([
      ['gzip', Buffer.from('not gzip at all')],
      ['deflate', Buffer.from('not deflate')],
    ])('answers a body whose %s encoding is broken with 400', async (encoding, body) => {
      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send(body);

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toContain('body');
    });

    it('refuses a gzip body that inflates past 100 kB', async () => {
      const bomb = gzipSync(Buffer.from(`{"email":"${'a'.repeat(2_000_000)}"}`));

      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send(bomb);

      expect([400, 413]).toContain(answer.status);
      expectErrorShape(answer, answer.status);
    });

    it('refuses a string that is not well-formed Unicode with 400 naming the field', async () => {
      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send('{"email": "\\ud800@example.com", "password": "a long enough password"}');

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toContain('email');
    });

    it('refuses a body nested thousands of levels deep with 400 naming the field', async () => {
      const answer = await t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"email": ${'['.repeat(30000)}${']'.repeat(30000)}, "password": "x"}`);

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toContain('email');
    });

    it('never answers 500 for a name the database would count longer than the rule', async () => {
      // 200 characters for the validator, which skips variation selectors; 400 for MySQL.
      const name = 'a\uFE0F'.repeat(200);
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });

      const created = await t.http
        .post('/admin/users')
        .set(bearer(token))
        .send({ email: uniqueEmail(), name, password: DEFAULT_PASSWORD, permissions: [] });
      const renamed = await t.http
        .patch(`/admin/users/${user.id}`)
        .set(bearer(token))
        .send({ name });

      for (const answer of [created, renamed]) {
        expect(answer.status).toBeLessThan(500);
        if (answer.status === 400) {
          expect(answer.body.message).toContain('name');
        } else {
          expect(answer.body.name).toBe(name);
        }
      }
    });
  });

  describe('every route', () => {
    it('refuses hostile bodies and headers with a 4xx error in the usual shape, never a 500', async () => {
      const admin = (await createClientWithAdministrator(t)).admin;
      const twoFactorUser = (await createTwoFactorUser(t, { clientId })).user;
      const callers: Record<string, () => Promise<Record<string, string>>> = {
        anonymous: () => Promise.resolve({}),
        administrator: async () => bearer(await issueSession(t, admin)),
        pending: async () => bearer(await issueSession(t, twoFactorUser, { stage: 'pending' })),
        app: async () => bearer(await issueSession(t, admin, { channel: 'ticket-app' })),
      };
      const failures: string[] = [];
      const writes = registeredRoutes(t).filter((route) => route.method !== 'get');
      expect(writes.length).toBeGreaterThan(10);

      for (const route of writes) {
        for (const [callerName, headersOf] of Object.entries(callers)) {
          for (const hostile of HOSTILE_BODIES) {
            let call = t.http[route.method](concretePath(route))
              .set(await headersOf())
              .set('Content-Type', hostile.contentType ?? 'application/json');
            if (hostile.encoding) {
              call = call.set('Content-Encoding', hostile.encoding);
            }
            let answer: Response;
            try {
              answer = await call.send(hostile.body);
            } catch (error) {
              failures.push(
                `${routeName(route)} as ${callerName} with ${hostile.name}: ${String(error)}`,
              );
              continue;
            }
            const shaped =
              answer.status < 400 ||
              (answer.body?.statusCode === answer.status &&
                typeof answer.body.error === 'string' &&
                typeof answer.body.message === 'string');
            if (answer.status >= 500 || !shaped) {
              failures.push(
                `${routeName(route)} as ${callerName} with ${hostile.name}: ` +
                  `${answer.status} ${JSON.stringify(answer.body)}`,
              );
            }
          }
        }
      }

      expect(failures).toEqual([]);
      // Nothing above may have changed an account.
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: admin.id });
      expect(stored.active).toBe(true);
    });

    it('gives the reason that fits the value: its kind first, then its bounds', async () => {
      const { admin, token } = await createClientWithAdministrator(t);
      const target = await createUser(t, { clientId: admin.clientId });
      const asAdmin = { Authorization: `Bearer ${token}` };
      const cases: [string, () => Promise<Response>, string][] = [
        [
          'page=1e2',
          () => t.http.get('/admin/users?page=1e2').set(asAdmin),
          'page: must be an integer',
        ],
        [
          'page=1.5',
          () => t.http.get('/admin/users?page=1.5').set(asAdmin),
          'page: must be an integer',
        ],
        ['page=', () => t.http.get('/admin/users?page=').set(asAdmin), 'page: must be an integer'],
        [
          'page twice',
          () => t.http.get('/admin/users?page=1&page=2').set(asAdmin),
          'page: must be an integer',
        ],
        [
          'pageSize=-1',
          () => t.http.get('/admin/users?pageSize=-1').set(asAdmin),
          'pageSize: must be at least 1',
        ],
        [
          'pageSize=101',
          () => t.http.get('/admin/users?pageSize=101').set(asAdmin),
          'pageSize: must be at most 100',
        ],
        [
          'clientId=abc',
          () => t.http.get('/admin/users?clientId=abc').set(asAdmin),
          'clientId: must be an integer',
        ],
        [
          'userId past every id',
          () => t.http.get('/admin/audit-events?userId=99999999999999999999').set(asAdmin),
          'userId: must be at most 2147483647',
        ],
        [
          'page past every number',
          () => t.http.get(`/admin/users?page=-${'9'.repeat(400)}`).set(asAdmin),
          'page: must be at least 1',
        ],
        [
          'userId=abc',
          () => t.http.get('/admin/audit-events?userId=abc').set(asAdmin),
          'userId: must be an integer',
        ],
        [
          'empty email',
          () => t.http.post('/auth/login').send({ email: '', password: 'x' }),
          'email: must be 1 to 254 characters',
        ],
        [
          'token as number',
          () =>
            t.http
              .post('/auth/login')
              .send({ email: 'a@example.com', password: 'x', trustedDeviceToken: 5 }),
          'trustedDeviceToken: must be a string',
        ],
        [
          'permissions as text',
          () =>
            t.http.patch(`/admin/users/${target.id}`).set(asAdmin).send({ permissions: 'admin' }),
          'permissions: must be an array',
        ],
        [
          'permissions left out',
          () =>
            t.http
              .post('/admin/users')
              .set(asAdmin)
              .send({ email: uniqueEmail(), name: 'N', password: DEFAULT_PASSWORD }),
          'permissions: is required',
        ],
        [
          'a JSON string body',
          () => t.http.post('/auth/login').set('Content-Type', 'application/json').send('"123456"'),
          'body: must be a JSON object',
        ],
        [
          'a NUL in a name',
          () => t.http.patch(`/admin/users/${target.id}`).set(asAdmin).send({ name: 'a\u0000b' }),
          'name: must not contain control characters',
        ],
        [
          'a line break in a name',
          () => t.http.patch(`/admin/users/${target.id}`).set(asAdmin).send({ name: 'a\nBcc: x' }),
          'name: must not contain control characters',
        ],
        [
          'a line separator in a name',
          () => t.http.patch(`/admin/users/${target.id}`).set(asAdmin).send({ name: 'a\u2028b' }),
          'name: must not contain control characters',
        ],
        [
          'a right-to-left override in a name',
          () =>
            t.http.patch(`/admin/users/${target.id}`).set(asAdmin).send({ name: 'gnp.\u202Eexe' }),
          'name: must not contain control characters',
        ],
        [
          'broken JSON',
          () => t.http.post('/auth/login').set('Content-Type', 'application/json').send('{"email"'),
          'body: malformed JSON',
        ],
      ];
      const wrong: string[] = [];

      for (const [name, call, message] of cases) {
        const answer = await call();
        if (answer.status !== 400 || answer.body.message !== message) {
          wrong.push(`${name}: ${answer.status} ${String(answer.body.message)}`);
        }
      }

      expect(wrong).toEqual([]);
    });

    it('takes route ids in decimal digits only, answering 400 naming the id otherwise', async () => {
      const { admin, token } = await createClientWithAdministrator(t);
      const target = await createUser(t, { clientId: admin.clientId, name: 'Kept' });
      const ids = ['-1', '-0', '+1', '1e3', '1.5', '0x10', '%201', '12a'];
      const paths = (id: string) =>
        [
          ['patch', `/admin/users/${id}`],
          ['delete', `/admin/users/${id}/two-factor`],
          ['delete', `/me/trusted-devices/${id}`],
        ] as const;
      const wrong: string[] = [];

      for (const id of ids) {
        for (const [method, path] of paths(id)) {
          const request = t.http[method](path).set(bearer(token));
          const answer = await (method === 'patch' ? request.send({ name: 'Changed' }) : request);
          if (answer.status !== 400 || !String(answer.body.message).startsWith('id: ')) {
            wrong.push(`${method} ${path}: ${answer.status} ${String(answer.body.message)}`);
          }
        }
      }

      expect(wrong).toEqual([]);
      const undecodable = await t.http.patch('/admin/users/%E0%A4%A').set(bearer(token)).send({});
      expectErrorShape(undecodable, 400, 'validation_failed');
      expect(undecodable.body.message).toBe('path: a parameter is not valid percent-encoding');
      const found = await t.http
        .patch(`/admin/users/${target.id}`)
        .set(bearer(token))
        .send({ name: 'Changed' });
      expect(found.status).toBe(200);
      const missing = await t.http
        .patch('/admin/users/2147483647')
        .set(bearer(token))
        .send({ name: 'X' });
      expect(missing.status).toBe(404);
    });

    it('refuses a body or a query parameter on every route that takes none, as an unknown field', async () => {
      const { admin } = await createClientWithAdministrator(t);
      const asAdmin = bearer(await issueSession(t, admin));
      const document = (await t.http.get('/docs-json')).body as {
        paths: Record<
          string,
          Record<string, { requestBody?: unknown; parameters?: { in: string }[] }>
        >;
      };
      const operationOf = (route: { method: string; path: string }) =>
        document.paths[route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[route.method];
      const failures: string[] = [];
      let refused = 0;

      for (const route of registeredRoutes(t)) {
        const operation = operationOf(route);
        if (!operation) {
          failures.push(`${routeName(route)}: not in /docs-json`);
          continue;
        }
        const tries: [string, () => Promise<Response>][] = [];
        if (!operation.requestBody && route.method !== 'get') {
          tries.push([
            'a body',
            () => t.http[route.method](concretePath(route)).set(asAdmin).send({ stray: 1 }),
          ]);
        }
        // A query is tried where no body is checked first (login checks its body in a guard).
        const takesQuery = (operation.parameters ?? []).some(
          (parameter) => parameter.in === 'query',
        );
        if (!takesQuery && !operation.requestBody) {
          tries.push([
            'a query',
            () => t.http[route.method](`${concretePath(route)}?stray=1`).set(asAdmin),
          ]);
        }
        for (const [what, call] of tries) {
          const answer = await call();
          // A guard that refuses the caller answers first; nothing of the input was read.
          if (answer.status === 401 || answer.status === 403) {
            continue;
          }
          if (answer.status !== 400 || answer.body.message !== 'stray: unknown field') {
            failures.push(
              `${routeName(route)} with ${what}: ${answer.status} ${String(answer.body.message)}`,
            );
          } else {
            refused += 1;
          }
        }
      }

      expect(failures).toEqual([]);
      expect(refused).toBeGreaterThanOrEqual(12);
      const logout = (body?: unknown) => {
        const call = t.http
          .post('/auth/logout')
          .set(asAdmin)
          .set('Content-Type', 'application/json');
        return body === undefined ? call : call.send(body as object);
      };
      expect((await logout('5')).body.message).toBe('body: must be a JSON object');
      expect((await logout([])).body.message).toBe('body: this route takes no body');
      expect((await logout({})).status).toBe(204);
      const login = await t.http
        .post('/auth/login?stray=1')
        .send({ email: admin.email, password: DEFAULT_PASSWORD });
      expect(login.status).toBe(400);
      expect(login.body.message).toBe('stray: unknown field');
    });

    it('lists ten problems of a body and counts the rest', async () => {
      const fields = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, 1]));

      const answer = await t.http
        .post('/auth/login')
        .send({ email: 'a@example.com', password: 'x', ...fields });

      expectErrorShape(answer, 400, 'validation_failed');
      expect(answer.body.message).toBe(
        `${Array.from({ length: 10 }, (_, i) => `f${i}: unknown field`).join('; ')}; and 490 more`,
      );
    });

    it('refuses every name objects inherit as an unknown field, in bodies and in queries', async () => {
      const { admin, token } = await createClientWithAdministrator(t);
      const target = await createUser(t, { clientId: admin.clientId, name: 'Kept' });
      const inherited = Object.getOwnPropertyNames(Object.prototype);
      expect(inherited).toEqual(expect.arrayContaining(['__proto__', 'toString', 'valueOf']));
      const failures: string[] = [];

      for (const name of inherited) {
        const body = await t.http
          .patch(`/admin/users/${target.id}`)
          .set(bearer(token))
          .set('Content-Type', 'application/json')
          .send(`{"name": "Changed", "${name}": 1}`);
        const query = await t.http
          .get(`/admin/users?${encodeURIComponent(name)}=1`)
          .set(bearer(token));
        for (const [where, answer] of [
          ['body', body],
          ['query', query],
        ] as const) {
          const message = String(answer.body?.message);
          if (answer.status !== 400 || !message.includes(`property ${name} is not allowed`)) {
            failures.push(`${name} in the ${where}: ${answer.status} ${message}`);
          }
        }
      }

      expect(failures).toEqual([]);
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: target.id });
      expect(stored.name).toBe('Kept');
    });

    it('refuses a body that is not UTF-8 with 400, and a charset other than UTF-8 with 415', async () => {
      const { admin, token } = await createClientWithAdministrator(t);
      const target = await createUser(t, { clientId: admin.clientId, name: 'Kept' });
      const patch = (contentType: string, body: Buffer) =>
        t.http
          .patch(`/admin/users/${target.id}`)
          .set(bearer(token))
          .set('Content-Type', contentType)
          // The bytes as they are: superagent would write a Buffer as JSON.
          .serialize((bytes: Buffer) => bytes as unknown as string)
          .send(body);

      const invalid = await patch(
        'application/json',
        Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
      );
      const utf16 = await patch(
        'application/json; charset=utf-16le',
        Buffer.from('{"name": "Changed"}', 'utf16le'),
      );
      const latin1 = await patch(
        'application/json; charset=ISO-8859-1',
        Buffer.from('{"name": "Chang\xe9"}', 'latin1'),
      );
      const declaredUtf8 = await patch(
        'application/json; charset="UTF-8"',
        Buffer.from('{"name": "Chang\u00e9"}'),
      );

      expectErrorShape(invalid, 400, 'validation_failed');
      expect(invalid.body.message).toBe('body: must be UTF-8 text');
      expectErrorShape(utf16, 415, 'unsupported_media_type');
      expectErrorShape(latin1, 415, 'unsupported_media_type');
      expect(declaredUtf8.status).toBe(200);
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: target.id });
      expect(stored.name).toBe('Chang\u00e9');
    });

    it('answers a malformed cookie or an odd Authorization header with 401, never a 500', async () => {
      const headers: Record<string, string>[] = [
        { Cookie: 'session=%E0%A4%A' },
        { Cookie: 'session=' },
        { Cookie: `session=${'x'.repeat(4000)}` },
        { Cookie: 'session=a; session=b' },
        { Authorization: 'Bearer a b c' },
        { Authorization: 'bearer' },
        { Authorization: `Bearer ${'\u00ff'.repeat(10)}` },
      ];

      for (const header of headers) {
        expectErrorShape(await t.http.get('/me').set(header), 401, 'unauthenticated');
      }
    });
  });
});
