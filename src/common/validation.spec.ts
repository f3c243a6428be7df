import type { NextFunction, Request, Response } from 'express';

import { CommonException } from './common.exception';
import {
  StrictValidationPipe,
  findUnreadableInput,
  mapBodyParserErrors,
  requireJsonBodies,
} from './validation';

/** An error as body-parser raises them: an Error with a status and, mostly, a type. */
function parserError(status: number, type?: string): Error {
  return Object.assign(new Error('parser error'), { status, statusCode: status, type });
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) {
    value = [value];
  }

  return value;
}

/** What a middleware passed on: nothing (undefined) or the error it gave `next`. */
function passedOn(run: (next: NextFunction) => void): unknown {
  let passed: unknown = 'not called';
  run((error?: unknown) => {
    passed = error;
  });

  return passed;
}

describe('findUnreadableInput', () => {
  it('accepts ordinary flat bodies, emoji included', () => {
    expect(findUnreadableInput({ name: 'Zoë 👩🏽‍💻', permissions: ['admin'] }, 'body')).toBeNull();
  });

  it('accepts nesting up to 16 levels and refuses more, naming the top-level field', () => {
    expect(findUnreadableInput({ deep: nested(15) }, 'body')).toBeNull();
    expect(findUnreadableInput({ deep: nested(16) }, 'body')).toBe('deep: is nested too deeply');
  });

  it('walks thousands of levels without recursion', () => {
    expect(findUnreadableInput({ deep: nested(100_000) }, 'body')).toBe(
      'deep: is nested too deeply',
    );
  });

  it.each([
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', '\udc00'],
    ['surrogates in the wrong order', '\udc00\ud800'],
  ])('refuses %s, naming the field', (_case, text) => {
    expect(findUnreadableInput({ email: text }, 'body')).toBe(
      'email: must be well-formed Unicode text',
    );
    expect(findUnreadableInput({ list: [['x', text]] }, 'body')).toBe(
      'list: must be well-formed Unicode text',
    );
  });

  it('refuses a property name that is not well-formed Unicode', () => {
    expect(findUnreadableInput({ '\ud800': 1 }, 'body')).toBe(
      'body: property names must be well-formed Unicode text',
    );
  });
});

describe('StrictValidationPipe', () => {
  class Dto {}
  const pipe = new StrictValidationPipe();

  it.each([
    ['an array', []],
    ['a string', 'text'],
    ['a number', 1],
  ])('refuses %s as a body', async (_case, body) => {
    await expect(pipe.transform(body, { type: 'body', metatype: Dto })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('keeps route parameters as text for their own pipes', async () => {
    await expect(
      pipe.transform('0x10', { type: 'param', metatype: Number, data: 'id' }),
    ).resolves.toBe('0x10');
  });
});

describe('requireJsonBodies', () => {
  function run(method: string, headers: Record<string, string>): unknown {
    const request = {
      method,
      headers,
      is: (type: string) => ((headers['content-type'] ?? '').startsWith(type) ? type : false),
    } as unknown as Request;

    return passedOn((next) => requireJsonBodies(request, {} as Response, next));
  }

  it('passes JSON writes and writes without a body', () => {
    expect(
      run('POST', { 'content-type': 'application/json', 'content-length': '2' }),
    ).toBeUndefined();
    expect(run('POST', {})).toBeUndefined();
  });

  it('answers 415 to a write whose body is not JSON', () => {
    const bodies: Record<string, string>[] = [
      { 'content-type': 'text/plain', 'content-length': '5' },
      { 'content-length': '5' },
      { 'transfer-encoding': 'chunked' },
    ];

    for (const headers of bodies) {
      expect(run('PATCH', headers)).toMatchObject({ code: 'unsupported_media_type' });
    }
  });

  it('leaves reads alone', () => {
    expect(run('GET', { 'content-type': 'text/plain', 'content-length': '5' })).toBeUndefined();
  });
});

describe('mapBodyParserErrors', () => {
  function map(error: unknown): unknown {
    return passedOn((next) => mapBodyParserErrors(error, {} as Request, {} as Response, next));
  }

  it.each([
    ['a body over the limit', parserError(413, 'entity.too.large'), 'payload_too_large'],
    ['malformed JSON', parserError(400, 'entity.parse.failed'), 'validation_failed'],
    ['an unsupported charset', parserError(415, 'charset.unsupported'), 'unsupported_media_type'],
    ['an unsupported encoding', parserError(415, 'encoding.unsupported'), 'unsupported_media_type'],
    ['another typed parser error', parserError(400, 'request.aborted'), 'validation_failed'],
    [
      'a broken gzip body (no type)',
      Object.assign(new Error('incorrect header check'), { status: 400, code: 'Z_DATA_ERROR' }),
      'validation_failed',
    ],
    ['an untyped error over the limit', parserError(413), 'payload_too_large'],
  ])('maps %s to %s', (_case, error, code) => {
    expect(map(error)).toMatchObject({ code });
  });

  it('passes our own exceptions and errors that are not the parser’s unchanged', () => {
    const ours = CommonException.unsupportedMediaType();
    const fault = new Error('a bug');

    expect(map(ours)).toBe(ours);
    expect(map(fault)).toBe(fault);
  });
});
