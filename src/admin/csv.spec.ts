import { csvField, csvRecord } from './csv';

describe('csvField', () => {
  it('leaves plain text, numbers and booleans as they are', () => {
    expect(csvField('Ada Lovelace')).toBe('Ada Lovelace');
    expect(csvField(42)).toBe('42');
    expect(csvField(false)).toBe('false');
    expect(csvField('2026-03-12T09:00:00.000Z')).toBe('2026-03-12T09:00:00.000Z');
  });

  it('writes null and undefined as empty fields', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('quotes fields with a comma, a quote, CR or LF and doubles the quotes', () => {
    expect(csvField('Lovelace, Ada')).toBe('"Lovelace, Ada"');
    expect(csvField('Ada "the first" L.')).toBe('"Ada ""the first"" L."');
    expect(csvField('line one\nline two')).toBe('"line one\nline two"');
    expect(csvField('line one\r\nline two')).toBe('"line one\r\nline two"');
    expect(csvField('"')).toBe('""""');
  });

  it.each(['=1+2', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '\uFF1D1+2'])(
    'prefixes %j with an apostrophe so no spreadsheet runs it as a formula',
    (value) => {
      const field = csvField(value);
      const unquoted = field.startsWith('"') ? field.slice(1, -1).replace(/""/g, '"') : field;

      expect(unquoted).toBe(`'${value}`);
    },
  );

  it('neutralises a formula and still quotes what needs quotes', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvField('-1,2')).toBe('"\'-1,2"');
  });

  it('leaves formula characters alone when they are not at the start', () => {
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField('ada+tag@example.com')).toBe('ada+tag@example.com');
    expect(csvField(' =1')).toBe(' =1');
  });
});

describe('csvRecord', () => {
  it('joins fields with commas and ends the record with CRLF', () => {
    expect(csvRecord([1, 'Ada, L.', null, true])).toBe('1,"Ada, L.",,true\r\n');
  });
});
