import fc from 'fast-check';

// A JSON value as text is built from: objects keep their entries in order and may repeat a
// key or use `__proto__` (which an object literal would turn into a prototype); `Raw` is
// inserted as it is (malformed or deeply nested text).
export class Obj {
  constructor(readonly entries: [string, JsonNode][]) {}
}
export class Raw {
  constructor(readonly text: string) {}
}
export type JsonNode = null | boolean | number | string | JsonNode[] | Obj | Raw;

export function serialize(node: JsonNode): string {
  if (node instanceof Raw) {
    return node.text;
  }
  if (node instanceof Obj) {
    return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`;
  }
  if (Array.isArray(node)) {
    return `[${node.map(serialize).join(',')}]`;
  }
  if (typeof node === 'number' && !Number.isFinite(node)) {
    // Not JSON, but a parser reads 1e999 as Infinity.
    return Number.isNaN(node) ? '1e999' : node > 0 ? '1e999' : '-1e999';
  }

  return JSON.stringify(node);
}

interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface OpenApiOperation {
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
}

/** One documented route, as the fuzzer reads it from /docs-json. */
export interface FuzzOperation {
  method: string;
  /** The OpenAPI path, e.g. `/admin/users/{id}`. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  body?: Schema;
  secured: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export function readOperations(document: OpenApiDocument): FuzzOperation[] {
  const schemas = document.components?.schemas ?? {};
  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (!schema?.$ref) {
      return schema;
    }

    return resolve(schemas[schema.$ref.replace('#/components/schemas/', '')]);
  };
  const resolveDeep = (schema: Schema | undefined): Schema | undefined => {
    const own = resolve(schema);
    if (!own) {
      return own;
    }

    return {
      ...own,
      properties: own.properties
        ? Object.fromEntries(
            Object.entries(own.properties).map(([name, s]) => [name, resolveDeep(s) ?? {}]),
          )
        : undefined,
      items: own.items ? resolveDeep(own.items) : undefined,
    };
  };

  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        pathParams: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (operation.parameters ?? [])
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: resolve(p.schema) ?? {} })),
        body: resolveDeep(operation.requestBody?.content?.['application/json']?.schema),
        secured: (operation.security ?? []).length > 0,
      })),
  );
}

// Strings that break naive code: empty, control characters, non-ASCII of every kind, lone
// surrogates, prototype names, injection-looking text, and lengths around and past limits.
const NASTY_WORDS = [
  '',
  ' ',
  '\u0000',
  '\t\r\n',
  'é',
  'É@É.É',
  'ß',
  'İ',
  '😀',
  '👩‍👩‍👧',
  '\u202eevil',
  '\ufeff',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  '%00',
  '%',
  'null',
  'true',
  '0',
  '-1',
  '1e999',
  'NaN',
  '=cmd|calc',
  '<script>alert(1)</script>',
  'a@b',
  'A@EXAMPLE.COM',
  ' ada@example.com ',
  'ada@example.com\u0000',
];

const shortNastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_WORDS), weight: 4 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
);

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_WORDS), weight: 4 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(5, 6, 7, 12, 63, 64, 65, 200, 201, 254, 255, 256, 257, 1025, 4097),
        fc.constantFrom('a', '1', 'é', '😀'),
      )
      .map(([n, c]) => c.repeat(n)),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(50_000, 99_000, 120_000).map((n) => 'x'.repeat(n)), weight: 1 },
  { arbitrary: fc.emailAddress(), weight: 1 },
);

const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53 + 2,
    -(2 ** 63),
    1e308,
    0.5,
    -0,
    Infinity,
    NaN,
  ),
  fc.integer(),
  fc.double({ noNaN: true }),
);

const proto = fc.constantFrom('__proto__', 'constructor', 'prototype');

function nested(depth: number, kind: 'array' | 'object'): Raw {
  return new Raw(
    kind === 'array'
      ? '['.repeat(depth) + ']'.repeat(depth)
      : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
  );
}

const deepNesting: fc.Arbitrary<JsonNode> = fc
  .tuple(
    fc.constantFrom(30, 100, 2_000, 9_000),
    fc.constantFrom('array' as const, 'object' as const),
  )
  .map(([depth, kind]) => nested(depth, kind));

/** Any JSON value of a wrong kind: scalars, nasty strings, arrays, objects, prototypes, nesting. */
export const strangeValue: fc.Arbitrary<JsonNode> = fc.oneof(
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: nastyNumber, weight: 3 },
  { arbitrary: nastyString, weight: 6 },
  { arbitrary: fc.array(fc.oneof(nastyString, nastyNumber), { maxLength: 4 }), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.oneof(proto, nastyString), fc.oneof(nastyString, nastyNumber))
      .map(([k, v]) => new Obj([[k, v]])),
    weight: 2,
  },
  { arbitrary: proto.map((k) => new Obj([[k, new Obj([['polluted', true]])]])), weight: 1 },
  { arbitrary: deepNesting, weight: 1 },
);

/** A value that passes the schema's own rules, or near enough to reach the service's logic. */
function plausible(name: string, schema: Schema): fc.Arbitrary<JsonNode> {
  if (schema.enum && schema.enum.length > 0) {
    return fc.constantFrom(...(schema.enum as JsonNode[]));
  }
  switch (schema.type ?? 'string') {
    case 'integer':
    case 'number':
      return fc.integer({ min: schema.minimum ?? 1, max: Math.min(schema.maximum ?? 50, 50) });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(plausible(name, schema.items ?? { type: 'string' }), { maxLength: 3 });
    case 'object':
      return objectFor(schema, false);
    default:
      if (/email/i.test(name)) {
        return fc.emailAddress();
      }
      if (/^code$/i.test(name)) {
        return fc.stringMatching(/^[0-9]{6}$/);
      }
      if (/recoveryCode/i.test(name)) {
        return fc.stringMatching(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/);
      }

      return fc.string({
        minLength: schema.minLength ?? 1,
        maxLength: Math.min(schema.maxLength ?? 40, 40),
      });
  }
}

function objectFor(schema: Schema, allFields: boolean): fc.Arbitrary<JsonNode> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);

  return fc
    .tuple(
      ...properties.map(([name, property]) =>
        fc.tuple(
          fc.constant(name),
          plausible(name, property),
          allFields || required.has(name) ? fc.constant(true) : fc.boolean(),
        ),
      ),
    )
    .map((fields) => new Obj(fields.filter(([, , keep]) => keep).map(([n, v]) => [n, v])));
}

type Mutation = (entries: [string, JsonNode][]) => fc.Arbitrary<[string, JsonNode][]>;

// What is done to a plausible body: fields dropped, fields of the wrong kind, unknown and
// prototype fields, repeated keys.
const mutations: Mutation[] = [
  (entries) =>
    entries.length === 0
      ? fc.constant(entries)
      : fc.nat(entries.length - 1).map((i) => entries.filter((_, j) => j !== i)),
  (entries) =>
    entries.length === 0
      ? fc.constant(entries)
      : fc
          .tuple(fc.nat(entries.length - 1), strangeValue)
          .map(([i, v]) =>
            entries.map(([k, old], j) => [k, j === i ? v : old] as [string, JsonNode]),
          ),
  (entries) => fc.tuple(nastyString, strangeValue).map(([k, v]) => [...entries, [k, v]]),
  (entries) => fc.tuple(proto, strangeValue).map(([k, v]) => [[k, v], ...entries]),
  (entries) =>
    entries.length === 0
      ? fc.constant(entries)
      : fc
          .tuple(fc.nat(entries.length - 1), strangeValue)
          .map(([i, v]) => [...entries, [entries[i][0], v]]),
];

/** A body for an operation: mostly its own fields, mutated; sometimes something else entirely. */
export function bodyFor(schema: Schema | undefined): fc.Arbitrary<string | undefined> {
  const plausibleBody = schema ? objectFor(schema, false) : fc.constant(new Obj([]));
  const mutated = plausibleBody.chain((body) => {
    const entries = body instanceof Obj ? body.entries : [];
    const steps = fc.array(fc.constantFrom(...mutations), { minLength: 1, maxLength: 3 });

    return steps.chain((chosen) =>
      chosen.reduce<fc.Arbitrary<[string, JsonNode][]>>(
        (arbitrary, mutation) => arbitrary.chain(mutation),
        fc.constant(entries),
      ),
    );
  });

  return fc.oneof(
    { arbitrary: plausibleBody.map(serialize), weight: 2 },
    { arbitrary: mutated.map((entries) => serialize(new Obj(entries))), weight: 10 },
    { arbitrary: strangeValue.map(serialize), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"email":',
        "{'a':1}",
        '{"a":1,}',
        'undefined',
        '\u0000',
        '{"a":"\\u12"}',
        '{"a":"\\ud800"}',
        '{"a":1}{"b":2}',
        '\ufeff{}',
      ),
      weight: 2,
    },
    {
      arbitrary: fc.constantFrom(120_000, 200_000).map((n) => `{"a":"${'x'.repeat(n)}"}`),
      weight: 1,
    },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

/** A path parameter: a number, a wrong one, or text the router must survive. */
export const pathParameter: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 60 }).map(String), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      '0',
      '-1',
      '1.5',
      '1e3',
      '0x10',
      '2147483648',
      '99999999999999999999',
      'abc',
      '%00',
      '%ED%A0%80',
      '%C0%AF',
      '%',
      '%%',
      '..',
      '__proto__',
      'constructor',
      '%F0%9F%98%80',
      ' 1',
      '1 ',
    ),
    weight: 3,
  },
  { arbitrary: shortNastyString.map(encodeSafely), weight: 2 },
  { arbitrary: fc.constant('p'.repeat(20_000)), weight: 1 },
);

function encodeSafely(text: string): string {
  try {
    return encodeURIComponent(text) || '%20';
  } catch {
    // A lone surrogate cannot be encoded; send the raw bytes of one instead.
    return '%ED%B0%80';
  }
}

/** The query string of an operation: its own parameters, wrong, repeated or unknown ones. */
export function queryFor(operation: FuzzOperation): fc.Arbitrary<string> {
  const value = (schema: Schema): fc.Arbitrary<string> =>
    fc.oneof(
      { arbitrary: plausible('', schema).map((v) => String(v as string)), weight: 3 },
      { arbitrary: shortNastyString, weight: 2 },
      {
        arbitrary: fc.constantFrom('-1', '0', '1.5', '1e3', '99999999999999999999', 'NaN', ''),
        weight: 2,
      },
      { arbitrary: fc.constantFrom(2_000, 20_000).map((n) => 'q'.repeat(n)), weight: 1 },
    );
  const pairs = fc.array(
    fc.oneof(
      ...(operation.query.length > 0
        ? [
            fc
              .constantFrom(...operation.query)
              .chain((q) => value(q.schema).map((v) => [q.name, v])),
          ]
        : []),
      fc.tuple(
        fc.oneof(proto, shortNastyString, fc.constantFrom('page[x]', 'a[]', 'state[0]')),
        shortNastyString,
      ),
    ),
    { maxLength: 4 },
  );

  return pairs.map((list) =>
    list.length === 0
      ? ''
      : `?${list.map(([k, v]) => `${encodeSafely(k)}=${encodeSafely(v)}`).join('&')}`,
  );
}

export type SessionKind = 'admin' | 'user' | 'twoFactor' | 'pending' | 'app';
export const SESSION_KINDS: SessionKind[] = ['admin', 'user', 'twoFactor', 'pending', 'app'];

export type FuzzAuth =
  | { type: 'none' }
  | { type: 'bearer'; session: SessionKind }
  | { type: 'cookie'; session: SessionKind; csrfHeader: boolean }
  | { type: 'header'; authorization: string }
  | { type: 'bad-cookie'; cookie: string };

// Header values may hold visible ASCII and Latin-1, never line breaks or NUL.
const headerText = fc.string({
  unit: fc
    .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }))
    .map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

export const authArbitrary: fc.Arbitrary<FuzzAuth> = fc.oneof(
  { arbitrary: fc.constant({ type: 'none' as const }), weight: 3 },
  {
    arbitrary: fc
      .constantFrom(...SESSION_KINDS)
      .map((session) => ({ type: 'bearer' as const, session })),
    weight: 8,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...SESSION_KINDS), fc.boolean())
      .map(([session, csrfHeader]) => ({ type: 'cookie' as const, session, csrfHeader })),
    weight: 2,
  },
  {
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Bearer x y',
          'Basic YWRtaW46YWRtaW4=',
          'bearer abc',
          'Token abc',
        ),
        headerText.map((t) => `Bearer ${t}`),
        fc.constantFrom(250, 5_000).map((n) => `Bearer ${'A'.repeat(n)}`),
        headerText,
      )
      .map((authorization) => ({ type: 'header' as const, authorization })),
    weight: 2,
  },
  {
    arbitrary: fc
      .oneof(
        headerText.map((t) => `session=${encodeSafely(t)}`),
        fc.constantFrom('session=', 'session', '=;;', 'session=%'),
      )
      .map((cookie) => ({ type: 'bad-cookie' as const, cookie })),
    weight: 1,
  },
);

export interface FuzzRequest {
  /** The documented operation it aims at, `METHOD /path`. */
  target: string;
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  auth: FuzzAuth;
  headers: Record<string, string>;
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Requests over every documented operation, each of them malformed in some way or other. */
export function requestArbitrary(operations: FuzzOperation[]): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...operations).chain((operation) =>
    fc
      .record({
        method: fc.oneof(
          { arbitrary: fc.constant(operation.method), weight: 9 },
          { arbitrary: fc.constantFrom(...OTHER_METHODS), weight: 1 },
        ),
        params: fc.array(pathParameter, {
          minLength: operation.pathParams.length,
          maxLength: operation.pathParams.length,
        }),
        query: queryFor(operation),
        body: bodyFor(operation.body),
        contentType: fc.oneof(
          { arbitrary: fc.constant('application/json'), weight: 12 },
          {
            arbitrary: fc.constantFrom(
              'application/json; charset=utf-16',
              'application/json; charset=latin1',
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=x',
              'application/merge-patch+json',
              'application/json, text/plain',
            ),
            weight: 2,
          },
        ),
        auth: authArbitrary,
        requestId: fc.option(headerText, { nil: undefined }),
      })
      .map(({ method, params, query, body, contentType, auth, requestId }): FuzzRequest => {
        let index = 0;
        const path = operation.path.replace(/\{[^}]+\}/g, () => params[index++] ?? '1') + query;

        return {
          target: `${operation.method} ${operation.path}`,
          method,
          path,
          body: method === 'GET' || method === 'OPTIONS' ? undefined : body,
          contentType: body === undefined ? undefined : contentType,
          auth,
          headers: requestId === undefined ? {} : { 'x-request-id': requestId.trim() || 'x' },
        };
      }),
  );
}
