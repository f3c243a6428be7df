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

/**
 * The one reason to give for a field that failed several checks: a failed kind check first,
 * otherwise the first check that ran. Validation runs every check of a field (not stopping at
 * the first), since the order checks run in follows how decorators were stacked and composed.
 */
export function mainReason(constraints: Record<string, string> | undefined): string[] {
  if (!constraints) {
    return [];
  }
  const name = KIND_CHECKS.find((check) => check in constraints) ?? Object.keys(constraints)[0];

  return name === undefined ? [] : [constraints[name]];
}
