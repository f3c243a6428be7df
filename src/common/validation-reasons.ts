import type { ValidationError } from 'class-validator';

// The checks that say what kind of value a field takes. When one fails, its reason is the one
// to give: a number sent for a string "must be a string", not "must be at most 200 characters".
const KIND_CHECKS = [
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
  'isDateString',
];

// class-validator's name for a property the whitelist refuses ("property x should not exist").
const NOT_DECLARED = 'whitelistValidation';

/** The reason given for a field no route declares. */
export const UNKNOWN_FIELD = 'unknown field';

/**
 * The one reason to give for a field that failed several checks, without the field's name
 * (the caller writes "field: reason"): "is required" for a field left out (optional fields are
 * not checked when absent), a failed kind check first, otherwise the first check that ran.
 * Validation runs every check of a field (not stopping at the first), since the order checks
 * run in follows how decorators were stacked and composed.
 */
export function mainReason(
  error: Pick<ValidationError, 'property' | 'value' | 'constraints'>,
): string[] {
  const { property, constraints } = error;
  if (!constraints) {
    return [];
  }
  if (NOT_DECLARED in constraints) {
    return [UNKNOWN_FIELD];
  }
  if (error.value === undefined) {
    return ['is required'];
  }
  const name = KIND_CHECKS.find((check) => check in constraints) ?? Object.keys(constraints)[0];
  if (name === undefined) {
    return [];
  }
  const text = constraints[name];

  return [text.startsWith(`${property} `) ? text.slice(property.length + 1) : text];
}
