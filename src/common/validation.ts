import {
  ArgumentMetadata,
  HttpException,
  Injectable,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import type { ValidatorOptions } from 'class-validator';
import { isUtf8 } from 'node:buffer';

import type { NextFunction, Request, Response } from 'express';

import { CommonException } from './common.exception';
import { mainReason } from './validation-reasons';

// A body of a few hundred unknown fields would otherwise answer with a message as long as itself.
const MAX_LISTED_PROBLEMS = 10;

/** One message for several problems: the first ten, and how many more there are. */
export function joinProblems(problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length - MAX_LISTED_PROBLEMS;

  return more > 0 ? `${listed}; and ${more} more` : listed;
}

/** Flattens class-validator errors into "field: reason" lines, nested paths dotted. */
export function describeValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = mainReason(error).map((reason) => `${path}: ${reason}`);

    return [...own, ...describeValidationErrors(error.children ?? [], path)];
  });
}

// Our bodies are flat. class-transformer and class-validator recurse through whatever they are
// given, so a body nested thousands of levels deep would exhaust the stack.
const MAX_INPUT_DEPTH = 16;
// A lone UTF-16 surrogate is not text: validators throw on it (validator's isEmail calls
// encodeURI) and MySQL would store U+FFFD in its place.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// The names every object inherits (__proto__, constructor, toString, hasOwnProperty...) and
// `prototype`: no DTO declares them, and the validator's whitelist, a plain object, reads some
// of them as declared. They are refused at every level of a body or query.
const INHERITED_NAMES = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * The first reason no DTO could take a parsed body or query: nested too deeply, a string that
 * is not well-formed Unicode, or a property every object inherits. Walks without recursion;
 * names the top-level field.
 */
export function findUnreadableInput(input: unknown, name: string): string | null {
  const pending: { value: unknown; field: string; depth: number }[] = [
    { value: input, field: name, depth: 0 },
  ];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const { value, field, depth } = item;
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) {
      return `${field}: must be well-formed Unicode text`;
    }
    if (value === null || typeof value !== 'object') {
      continue;
    }
    if (depth >= MAX_INPUT_DEPTH) {
      return `${field}: is nested too deeply`;
    }
    for (const [key, child] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key)) {
        return `${field}: property names must be well-formed Unicode text`;
      }
      if (INHERITED_NAMES.has(key)) {
        return `${field}: property ${key} is not allowed`;
      }
      pending.push({ value: child, field: depth === 0 ? key : field, depth: depth + 1 });
    }
  }

  return null;
}

/** The rules every DTO is checked under: the API's pipe and the command line's input. */
export const STRICT_VALIDATION = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  stopAtFirstError: false,
  // Values are kept to tell a field left out from a wrong one; messages never repeat them.
  validationError: { target: false, value: true },
} satisfies ValidatorOptions;

/**
 * Validates bodies and queries against their DTOs: unknown fields are refused, a body must
 * be a JSON object, and the message names each bad field.
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      ...STRICT_VALIDATION,
      transform: true,
      exceptionFactory: (errors) =>
        CommonException.validation(joinProblems(describeValidationErrors(errors))),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === undefined || value === null) {
        value = {};
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw CommonException.validation('body: must be a JSON object');
      }
    }
    if (metadata.type === 'body' || metadata.type === 'query') {
      const problem = findUnreadableInput(value, metadata.type);
      if (problem) {
        throw CommonException.validation(problem);
      }
    }

    return super.transform(value, metadata);
  }

  // Nest would turn a route parameter typed as number into Number(text), which reads "0x10",
  // "1e1" and " 12" as ids. Parameters keep their text for their own pipe to parse strictly.
  protected override transformPrimitive(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'param' ? value : super.transformPrimitive(value, metadata);
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A write that carries a body must carry JSON: anything else is 415 before parsing. */
export function requireJsonBodies(request: Request, _response: Response, next: NextFunction): void {
  const hasBody =
    request.headers['transfer-encoding'] !== undefined ||
    Number(request.headers['content-length'] ?? 0) > 0 ||
    request.headers['content-type'] !== undefined;
  if (
    WRITE_METHODS.has(request.method) &&
    hasBody &&
    !isJsonUtf8(request.headers['content-type'])
  ) {
    next(CommonException.unsupportedMediaType());

    return;
  }
  next();
}

// JSON is UTF-8 (RFC 8259); a body declared in another charset is refused, not transcoded.
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * `application/json`, in UTF-8 or without a charset. Read from the header itself: Express's
 * `request.is` answers null for a request without Content-Length, which would call a bodiless
 * JSON request another media type.
 */
function isJsonUtf8(contentType: string | undefined): boolean {
  if (contentType?.split(';')[0].trim().toLowerCase() !== 'application/json') {
    return false;
  }
  const charset = CHARSET.exec(contentType)?.[1];

  return charset === undefined || /^utf-?8$/i.test(charset);
}

/**
 * The JSON parser's `verify` hook: bytes that are not UTF-8 are refused before decoding, which
 * would put U+FFFD in their place and store text the client never sent.
 */
export function requireUtf8(_request: Request, _response: Response, body: Buffer): void {
  if (!isUtf8(body)) {
    throw Object.assign(new Error('body: must be UTF-8 text'), { type: NOT_UTF8 });
  }
}

const NOT_UTF8 = 'entity.not.utf8';

/**
 * Express error middleware right after the JSON parser: its errors become our codes before
 * Nest sees them (Nest would turn a syntax error into a bare 400 with the parser's text, and
 * answer 500 to the untyped errors of a broken gzip or deflate body).
 */
export function mapBodyParserErrors(
  error: unknown,
  _request: Request,
  _response: Response,
  next: NextFunction,
): void {
  if (error instanceof HttpException) {
    next(error);

    return;
  }
  const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
  switch (type) {
    case 'entity.too.large':
      next(CommonException.payloadTooLarge());
      break;
    case 'entity.parse.failed':
      next(CommonException.validation(`body: ${parseFailure(error)}`));
      break;
    case NOT_UTF8:
      next(CommonException.validation('body: must be UTF-8 text'));
      break;
    case 'charset.unsupported':
    case 'encoding.unsupported':
      next(CommonException.unsupportedMediaType());
      break;
    default:
      // Every error the parser raises carries a 4xx status, typed or not.
      if (typeof type === 'string' || (typeof status === 'number' && status < 500)) {
        next(
          status === 413
            ? CommonException.payloadTooLarge()
            : CommonException.validation('body: the request body could not be read'),
        );
      } else {
        next(error);
      }
  }
}

// The parser refuses JSON that is not an object or array at the top (strict mode) with the
// same error as broken JSON; parsing the text again (at most the body limit) tells them apart.
function parseFailure(error: unknown): string {
  const { body } = error as { body?: unknown };
  try {
    JSON.parse(String(body));

    return 'must be a JSON object';
  } catch {
    return 'malformed JSON';
  }
}
