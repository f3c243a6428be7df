import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';

import { ErrorKind } from './api.exception';
import { COMMON_ERRORS } from './common.exception';

const errorSchema = (codes: string[]) => ({
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', enum: codes },
    message: { type: 'string' },
  },
});

function groupByStatus(kinds: readonly ErrorKind[]): Map<number, string[]> {
  const byStatus = new Map<number, string[]>();
  for (const kind of kinds) {
    const codes = byStatus.get(kind.status) ?? [];
    if (!codes.includes(kind.code)) {
      codes.push(kind.code);
    }
    byStatus.set(kind.status, codes);
  }

  return byStatus;
}

/**
 * Documents the errors a route answers, grouped by status, each with its stable codes.
 * Errors of the session guard are added to every protected route by `documentGuardErrors`.
 */
export function ApiErrors(...kinds: ErrorKind[]): MethodDecorator {
  const all = [COMMON_ERRORS.validationFailed, ...kinds];
  const decorators = [...groupByStatus(all)].map(([status, codes]) =>
    ApiResponse({
      status,
      description: `Error codes: ${codes.join(', ')}`,
      // Errors are JSON even where the route answers another type (the CSV export).
      content: { 'application/json': { schema: errorSchema(codes) } },
    }),
  );

  return applyDecorators(...decorators);
}

// What the global guards answer on any protected route.
const GUARD_ERRORS: ErrorKind[] = [
  COMMON_ERRORS.unauthenticated,
  COMMON_ERRORS.forbidden,
  COMMON_ERRORS.wrongChannel,
  COMMON_ERRORS.csrfHeaderMissing,
  { status: 403, code: 'two_factor_required' },
  { status: 403, code: 'two_factor_setup_required' },
  COMMON_ERRORS.databaseUnavailable,
];

// What the body middleware answers on any write, before a route sees the request.
const BODY_ERRORS: ErrorKind[] = [
  COMMON_ERRORS.payloadTooLarge,
  COMMON_ERRORS.unsupportedMediaType,
];

type Operation = {
  security?: unknown[];
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
};

/**
 * Adds the session guard's errors to every operation that takes credentials, and the body
 * middleware's errors to every write, merging codes into a status the route already
 * documents, so each route lists every code it can answer.
 */
export function documentGuardErrors(document: OpenAPIObject): OpenAPIObject {
  for (const pathItem of Object.values(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = pathItem[method] as Operation | undefined;
      if (!operation) {
        continue;
      }
      if (operation.security && operation.security.length > 0) {
        mergeErrors(operation, GUARD_ERRORS);
      }
      if (method !== 'get') {
        mergeErrors(operation, BODY_ERRORS);
      }
    }
  }

  return document;
}

function mergeErrors(operation: Operation, kinds: readonly ErrorKind[]): void {
  for (const [status, codes] of groupByStatus(kinds)) {
    const key = String(status);
    const existing = operation.responses[key];
    const previous = existing?.description.startsWith('Error codes: ')
      ? existing.description.slice('Error codes: '.length).split(', ')
      : [];
    const merged = [...new Set([...previous, ...codes])];
    operation.responses[key] = {
      description: `Error codes: ${merged.join(', ')}`,
      content: { 'application/json': { schema: errorSchema(merged) } },
    };
  }
}
