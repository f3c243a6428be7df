import { plainToInstance, Transform } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

import { mainReason } from '../src/common/validation-reasons';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NODE_ENVS = ['development', 'production', 'test'] as const;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * The service's environment, validated once at start. Every variable here is listed in
 * `.env.example` with its default; the TypeORM command-line data source reads the same class.
 */
export class Environment {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @MinLength(1)
  DATA_DIR = './data';

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(mysql|mariadb):\/\/[^/\s]+\/[A-Za-z0-9_$-]+(\?.*)?$/, {
    message: 'DB_URL must look like mysql://user:pass@host:port/database',
  })
  DB_URL?: string;

  /**
   * The longest a request waits for a database connection or for the answer to one statement;
   * past it the request answers 503 database_unavailable.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60000)
  DB_TIMEOUT_MS = 2000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'SMTP_URL must look like smtp://user:pass@host:port' })
  SMTP_URL?: string;

  @IsString()
  @MinLength(3)
  MAIL_FROM = 'Backoffice <no-reply@backoffice.local>';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsEmail({}, { message: 'BOOTSTRAP_ADMIN_EMAIL must be an email address' })
  BOOTSTRAP_ADMIN_EMAIL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'BOOTSTRAP_ADMIN_PASSWORD must be at least 12 characters' })
  @MaxLength(256)
  BOOTSTRAP_ADMIN_PASSWORD?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]+:[A-Za-z0-9+/]+={0,2}(,[A-Za-z0-9_-]+:[A-Za-z0-9+/]+={0,2})*$/, {
    message: 'TWO_FACTOR_ENCRYPTION_KEYS must be a list of id:base64key separated by commas',
  })
  TWO_FACTOR_ENCRYPTION_KEYS?: string;

  @IsString()
  @MinLength(1)
  @MaxLength(64)
  TOTP_ISSUER = 'Backoffice';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(2)
  TOTP_WINDOW = 1;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(365)
  TWO_FACTOR_GRACE_DAYS = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(365)
  TRUSTED_DEVICE_DAYS = 30;

  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @Matches(/^(off|on|\d+|[0-9a-f.:/, ]+|loopback|uniquelocal|linklocal)$/, {
    message: 'TRUST_PROXY must be off, on, a hop count, or addresses/subnets',
  })
  TRUST_PROXY = 'off';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  LOGIN_RATE_LIMIT = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  LOGIN_RATE_WINDOW_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64)
  PASSWORD_HASH_CONCURRENCY = 0;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100000)
  PASSWORD_HASH_QUEUE = 64;

  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.toLowerCase()) : value,
  )
  JOBS_ENABLED = true;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  MAIL_POLL_SECONDS = 5;
}

export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/** Validates raw variables; throws EnvironmentError naming every bad or missing variable. */
export function validateEnvironment(raw: NodeJS.ProcessEnv): Environment {
  const known = Object.keys(new Environment());
  const present = Object.fromEntries(
    Object.entries(raw).filter(([name, value]) => known.includes(name) && value !== undefined),
  );
  const env = plainToInstance(Environment, present, { exposeDefaultValues: true });
  const problems = validateSync(env, {
    forbidUnknownValues: false,
    stopAtFirstError: false,
  }).flatMap((error) => mainReason(error).map((reason) => `${error.property}: ${reason}`));

  // Keys are parsed only in the form the pattern allows; a malformed list is reported above.
  const keysMalformed = problems.some((problem) =>
    problem.startsWith('TWO_FACTOR_ENCRYPTION_KEYS:'),
  );
  if (env.TWO_FACTOR_ENCRYPTION_KEYS && !keysMalformed) {
    problems.push(...encryptionKeyProblems(env.TWO_FACTOR_ENCRYPTION_KEYS));
  }
  if (env.NODE_ENV === 'production') {
    if (!env.TWO_FACTOR_ENCRYPTION_KEYS) {
      problems.push('TWO_FACTOR_ENCRYPTION_KEYS: required when NODE_ENV=production');
    }
    if (env.LOGIN_RATE_LIMIT > 100) {
      problems.push('LOGIN_RATE_LIMIT: above 100 is refused when NODE_ENV=production');
    }
  }
  if (problems.length > 0) {
    throw new EnvironmentError(problems);
  }

  return env;
}

export function parseEncryptionKeys(value: string): EncryptionKey[] {
  return value.split(',').map((entry) => {
    const [id, base64] = entry.trim().split(':');

    return { id, key: Buffer.from(base64, 'base64') };
  });
}

function encryptionKeyProblems(value: string): string[] {
  const keys = parseEncryptionKeys(value);
  const problems = keys
    .filter((k) => k.key.length !== 32)
    .map((k) => `TWO_FACTOR_ENCRYPTION_KEYS: key "${k.id}" must be 32 bytes (base64 of 256 bits)`);
  const ids = keys.map((k) => k.id);
  if (new Set(ids).size !== ids.length) {
    problems.push('TWO_FACTOR_ENCRYPTION_KEYS: key ids must be unique');
  }

  return problems;
}
