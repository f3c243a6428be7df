/** An ISO instant as mail text shows it: `2026-03-05 09:00 UTC`. Anything else is left as is. */
export function formatUtc(value: unknown): string {
  if (typeof value !== 'string') {
    return '';
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return value;
  }

  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
