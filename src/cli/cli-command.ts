import type { INestApplicationContext } from '@nestjs/common';

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
