import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, ValidateBy, ValidateIf } from 'class-validator';

import { normalizeEmail } from '../users/users.service';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
// Login takes what was set under any earlier rule, but bounds the work one request can ask.
export const LOGIN_PASSWORD_MAX_LENGTH = 4096;

/**
 * Text of `min` to `max` characters as MySQL counts them in a varchar column: code points.
 * class-validator's Length does not count variation selectors, so text it accepts could be
 * longer than its column.
 */
export function HasTextLength(min: number, max: number, message: string): PropertyDecorator {
  return ValidateBy({
    name: 'hasTextLength',
    constraints: [min, max],
    validator: {
      validate: (value: unknown) => {
        const length = typeof value === 'string' ? [...value].length : -1;

        return length >= min && length <= max;
      },
      defaultMessage: () => message,
    },
  });
}

// Control characters (NUL, line breaks, escapes), the Unicode line and paragraph separators,
// and the bidirectional embeddings, overrides and isolates, which make text read in an order
// other than the one it is stored in (a name shown reversed in an administrator's list).
const NOT_DISPLAY_TEXT = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;

/**
 * Text for people to read (a name): no control characters, which would break mail headers,
 * CSV rows and terminals or disguise the text, and which nobody types in a name.
 */
export function IsDisplayText(): PropertyDecorator {
  return ValidateBy({
    name: 'isDisplayText',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !NOT_DISPLAY_TEXT.test(value),
      defaultMessage: () => '$property must not contain control characters',
    },
  });
}

export const NAME_MAX_LENGTH = 200;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

/** A name (of a user or a client): trimmed, 1 to 200 characters, no control characters. */
export function IsName(): PropertyDecorator {
  return applyDecorators(
    Transform(trim),
    IsString({ message: '$property must be a string' }),
    HasTextLength(1, NAME_MAX_LENGTH, `$property must be 1 to ${NAME_MAX_LENGTH} characters`),
    IsDisplayText(),
  );
}

/** An email, trimmed and lower-cased before it is checked. */
export function IsNormalizedEmail(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ example: 'ada@example.com', maxLength: 254 }),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? normalizeEmail(value) : value,
    ),
    IsString({ message: '$property must be a string' }),
    HasTextLength(1, 254, '$property must be 1 to 254 characters'),
    IsEmail({}, { message: '$property must be an email address' }),
  );
}

/** A password being set: 12 to 256 characters. */
export function IsNewPassword(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH }),
    IsString({ message: '$property must be a string' }),
    Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH, {
      message: `$property must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
    }),
  );
}

/** A password being checked: any non-empty string, whatever rule it was set under. */
export function IsCurrentPassword(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ maxLength: LOGIN_PASSWORD_MAX_LENGTH }),
    IsString({ message: '$property must be a string' }),
    Length(1, LOGIN_PASSWORD_MAX_LENGTH, {
      message: `$property must be 1 to ${LOGIN_PASSWORD_MAX_LENGTH} characters`,
    }),
  );
}

/**
 * An optional field: it may be left out, but when present it must pass its rules. Unlike
 * `@Optional()`, a JSON null is not taken for "absent" (it would reach the database).
 */
export function Optional(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
