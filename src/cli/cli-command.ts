import type { INestApplicationContext } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

import { STRICT_VALIDATION, describeValidationErrors, joinProblems } from '../common/validation';

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; description: string; required?: boolean }
>;

export type ParsedOptions = Record<string, string | boolean | undefined>;

/** One operator command: `npm run cli -- <name> [--option value ...]`. */
export interface CliCommand {
  name: string;
  description: string;
  options: OptionSpec;
  run(
    app: INestApplicationContext,
    options: ParsedOptions,
    out: (line: string) => void,
  ): Promise<void>;
}

export class CliUsageError extends Error {}

export function stringOption(options: ParsedOptions, name: string): string | undefined {
  const value = options[name];

  return typeof value === 'string' ? value : undefined;
}

export function requiredString(options: ParsedOptions, name: string): string {
  const value = stringOption(options, name);
  if (value === undefined || value.trim() === '') {
    throw new CliUsageError(`--${name} is required`);
  }

  return value;
}

export function integerOption(options: ParsedOptions, name: string): number | undefined {
  const value = stringOption(options, name);
  if (value === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(value)) {
    throw new CliUsageError(`--${name} must be a positive integer`);
  }

  return Number(value);
}

/**
 * Checks what an operator typed with the rules the API applies to the same fields (a DTO of
 * the API or of the command): the same names, emails and passwords are refused on both.
 */
export function validInput<T extends object>(type: new () => T, given: Record<string, unknown>): T {
  const input = plainToInstance(type, given);
  const errors = validateSync(input, STRICT_VALIDATION);
  if (errors.length > 0) {
    throw new CliUsageError(joinProblems(describeValidationErrors(errors)));
  }

  return input;
}
