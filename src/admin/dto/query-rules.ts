import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

import { Optional } from '../../common/dto-rules';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
// Bounds the OFFSET a request can ask the database for.
export const MAX_PAGE = 1_000_000;
export { MAX_ID } from '../../common/id.pipe';

/**
 * An optional whole number from the query string. Only digits, with an optional minus, are
 * read as a number; anything else ("1.5", "1e2", "", a repeated parameter) stays as given and
 * fails with the field named. Digits past what a number holds exactly read as the largest
 * (or smallest) one, so they fail the bound, not the kind: "must be at most 2147483647".
 */
export function IsQueryInt(min: number, max: number, description?: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: 'integer', minimum: min, maximum: max, description }),
    Optional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? readInteger(value) : value,
    ),
    IsInt({ message: '$property must be an integer' }),
    Min(min, { message: `$property must be at least ${min}` }),
    Max(max, { message: `$property must be at most ${max}` }),
  );
}

function readInteger(text: string): number | string {
  if (!/^-?[0-9]+$/.test(text)) {
    return text;
  }
  const value = Number(text);

  return Number.isSafeInteger(value) ? value : Math.sign(value) * Number.MAX_SAFE_INTEGER;
}

/** `page`, numbered from 1. */
export const IsPage = (): PropertyDecorator => IsQueryInt(1, MAX_PAGE, 'From 1; default 1');

/** `pageSize`, at most 100. */
export const IsPageSize = (): PropertyDecorator =>
  IsQueryInt(1, MAX_PAGE_SIZE, `Default ${DEFAULT_PAGE_SIZE}`);
