import { createHash } from 'node:crypto';
import { RecoveryCodeGenerator } from './recovery-code-generator';

describe('RecoveryCodeGenerator', () => {
  const generator = new RecoveryCodeGenerator();

  describe('generate', () => {
    it('returns 10 codes by default', () => {
      expect(generator.generate()).toHaveLength(10);
    });

    it('returns the requested number of codes', () => {
      expect(generator.generate(3)).toHaveLength(3);
    });

    it('formats each code as three groups of five Crockford base32 characters', () => {
      for (const code of generator.generate(100)) {
        expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
      }
    });

    it('returns 1000 distinct codes', () => {
      const codes = generator.generate(1000);

      expect(new Set(codes).size).toBe(1000);
    });

    it('uses every character of the alphabet', () => {
      const used = new Set(generator.generate(200).join('').replace(/-/g, ''));

      expect([...used].sort().join('')).toBe('0123456789ABCDEFGHJKMNPQRSTVWXYZ');
    });

    it.each([0, -1, 1.5, Number.NaN])('refuses a count of %p', (count) => {
      expect(() => generator.generate(count)).toThrow(RangeError);
    });
  });

  describe('normalize', () => {
    it.each([
      ['abcde-fghjk-mnpqr', 'ABCDEFGHJKMNPQR'],
      ['ABCDE FGHJK MNPQR', 'ABCDEFGHJKMNPQR'],
      [' aBcDe--fGhJk mnpqr ', 'ABCDEFGHJKMNPQR'],
      ['ABCDEFGHJKMNPQR', 'ABCDEFGHJKMNPQR'],
    ])('reads %p as %p', (input, expected) => {
      expect(RecoveryCodeGenerator.normalize(input)).toBe(expected);
    });
  });

  describe('hash', () => {
    it('is the SHA-256 hex of the normalised code', () => {
      const expected = createHash('sha256').update('ABCDEFGHJKMNPQR').digest('hex');

      expect(RecoveryCodeGenerator.hash('ABCDEFGHJKMNPQR')).toBe(expected);
    });

    it('ignores case and hyphens', () => {
      expect(RecoveryCodeGenerator.hash('abcde-fghjk-mnpqr')).toBe(
        RecoveryCodeGenerator.hash('ABCDEFGHJKMNPQR'),
      );
    });

    it('differs for different codes', () => {
      expect(RecoveryCodeGenerator.hash('ABCDEFGHJKMNPQR')).not.toBe(
        RecoveryCodeGenerator.hash('ABCDEFGHJKMNPQS'),
      );
    });

    it('hashes a generated code to its normalised form', () => {
      const [code] = generator.generate(1);

      expect(RecoveryCodeGenerator.hash(code.toLowerCase())).toBe(RecoveryCodeGenerator.hash(code));
    });
  });
});
