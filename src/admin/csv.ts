export type CsvCell = string | number | boolean | null | undefined;

/** RFC 4180 ends every record, the last one included, with CRLF. */
export const CSV_LINE_END = '\r\n';

// Spreadsheets run a cell that starts with one of these as a formula (tab and carriage
// return too, as OWASP notes; the full-width forms because some locales fold them).
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV field: empty for null, formula starts neutralised with a leading `'`, and quoted
 * (quotes doubled) when it holds a comma, a quote, CR or LF.
 */
export function csvField(value: CsvCell): string {
  if (value === null || value === undefined) {
    return '';
  }
  let text = String(value);
  if (FORMULA_START.test(text)) {
    text = `'${text}`;
  }

  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record with its CRLF line end. */
export function csvRecord(cells: readonly CsvCell[]): string {
  return cells.map(csvField).join(',') + CSV_LINE_END;
}
