import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Environment } from '../../config/environment';
import { SecretCipher } from './secret-cipher';
import { SecretCipherError } from './secret-cipher.error';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const keyOld = `old:${randomBytes(32).toString('base64')}`;
const keyNew = `new:${randomBytes(32).toString('base64')}`;

function cipherWith(settings: Partial<Environment>): SecretCipher {
  return new SecretCipher(Object.assign(new Environment(), settings));
}

function replaceAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}

describe('SecretCipher', () => {
  let warn: jest.SpyInstance;
  let dataDirs: string[];

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    dataDirs = [];
  });

  afterEach(() => {
    warn.mockRestore();
    dataDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
  });

  function temporaryDataDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-cipher-'));
    dataDirs.push(dir);

    return dir;
  }

  describe('with configured keys', () => {
    const cipher = (): SecretCipher => cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: keyOld });

    it('decrypts what it encrypted for the same user', () => {
      const c = cipher();

      expect(c.decrypt(c.encrypt(SECRET, 42), 42)).toBe(SECRET);
    });

    it('writes v1, the key id and base64url iv, tag and ciphertext within 255 characters', () => {
      const stored = cipher().encrypt(SECRET, 42);

      expect(stored).toMatch(/^v1\.old\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      expect(stored.length).toBeLessThanOrEqual(255);
      expect(stored).not.toContain(SECRET);
    });

    it('uses a different IV each time', () => {
      const c = cipher();
      const first = c.encrypt(SECRET, 42).split('.');
      const second = c.encrypt(SECRET, 42).split('.');

      expect(first[2]).not.toBe(second[2]);
      expect(first[4]).not.toBe(second[4]);
    });

    it('fails for another user id', () => {
      const c = cipher();
      const stored = c.encrypt(SECRET, 42);

      expect(() => c.decrypt(stored, 43)).toThrow(SecretCipherError);
    });

    it.each([
      [2, 'iv'],
      [3, 'tag'],
      [4, 'ciphertext'],
    ])('fails when any single character of part %i (%s) is changed', (part) => {
      const c = cipher();
      const parts = c.encrypt(SECRET, 42).split('.');
      const text = parts[part];

      for (let i = 0; i < text.length; i++) {
        const index = BASE64URL.indexOf(text[i]);
        // index ^ 1 changes only the lowest bit, which the last character may not carry.
        for (const char of [BASE64URL[index ^ 1], BASE64URL[(index + 32) % 64], '!']) {
          const tampered = [...parts];
          tampered[part] = replaceAt(text, i, char);

          expect(() => c.decrypt(tampered.join('.'), 42)).toThrow(SecretCipherError);
        }
      }
    });

    it.each([
      ['an empty string', () => ''],
      ['another version', (s: string) => s.replace(/^v1/, 'v2')],
      ['a missing part', (s: string) => s.split('.').slice(0, 4).join('.')],
      ['an extra part', (s: string) => `${s}.AAAA`],
      ['a truncated ciphertext', (s: string) => s.slice(0, -4)],
      ['an empty ciphertext', (s: string) => s.replace(/[^.]+$/, '')],
      ['padding', (s: string) => `${s}=`],
      [
        'a swapped iv and tag',
        (s: string) => s.replace(/^(v1\.old)\.([^.]+)\.([^.]+)/, '$1.$3.$2'),
      ],
    ])('fails for %s', (_name, change) => {
      const c = cipher();

      expect(() => c.decrypt(change(c.encrypt(SECRET, 42)), 42)).toThrow(SecretCipherError);
    });

    it('fails for an unknown key id', () => {
      const stored = cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: keyNew }).encrypt(SECRET, 42);

      expect(() => cipher().decrypt(stored, 42)).toThrow(SecretCipherError);
    });

    it('fails for a known key id on a ciphertext made under another key', () => {
      const otherOld = `old:${randomBytes(32).toString('base64')}`;
      const stored = cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: otherOld }).encrypt(SECRET, 42);

      expect(() => cipher().decrypt(stored, 42)).toThrow(SecretCipherError);
    });

    it('does not log a development warning', () => {
      cipher();

      expect(warn).not.toHaveBeenCalled();
    });
  });

  describe('key rotation', () => {
    it('decrypts under an old key listed after the new one and asks for re-encryption', () => {
      const stored = cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: keyOld }).encrypt(SECRET, 7);
      const rotated = cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: `${keyNew},${keyOld}` });

      expect(rotated.decrypt(stored, 7)).toBe(SECRET);
      expect(rotated.needsReencryption(stored)).toBe(true);
    });

    it('encrypts with the first key and does not ask to re-encrypt that', () => {
      const rotated = cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: `${keyNew},${keyOld}` });
      const stored = rotated.encrypt(SECRET, 7);

      expect(stored.startsWith('v1.new.')).toBe(true);
      expect(rotated.needsReencryption(stored)).toBe(false);
      expect(cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: keyNew }).decrypt(stored, 7)).toBe(SECRET);
    });
  });

  describe('without configured keys', () => {
    it('creates a development key file with mode 0600 and reuses it in a second instance', () => {
      const dataDir = path.join(temporaryDataDir(), 'nested', 'data');

      const first = cipherWith({ NODE_ENV: 'development', DATA_DIR: dataDir });

      const file = path.join(dataDir, 'two-factor-development.key');
      const content = fs.readFileSync(file, 'utf8');
      expect(content).toMatch(/^dev:[A-Za-z0-9+/]{43}=$/);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dataDir)).toEqual(['two-factor-development.key']);
      const stored = first.encrypt(SECRET, 1);
      expect(stored.startsWith('v1.dev.')).toBe(true);

      const second = cipherWith({ NODE_ENV: 'test', DATA_DIR: dataDir });

      expect(second.decrypt(stored, 1)).toBe(SECRET);
      expect(fs.readFileSync(file, 'utf8')).toBe(content);
    });

    it('warns that it runs in development mode, without logging the key', () => {
      const dataDir = temporaryDataDir();

      cipherWith({ NODE_ENV: 'development', DATA_DIR: dataDir });

      expect(warn).toHaveBeenCalledTimes(1);
      const message = String(warn.mock.calls[0][0]);
      expect(message).toMatch(/development mode/);
      expect(message).toMatch(/TWO_FACTOR_ENCRYPTION_KEYS/);
      const key = fs.readFileSync(path.join(dataDir, 'two-factor-development.key'), 'utf8');
      expect(message).not.toContain(key.split(':')[1]);
    });

    it('refuses a damaged key file instead of replacing it', () => {
      const dataDir = temporaryDataDir();
      const file = path.join(dataDir, 'two-factor-development.key');
      fs.writeFileSync(file, 'dev:tooshort', { mode: 0o600 });

      expect(() => cipherWith({ NODE_ENV: 'development', DATA_DIR: dataDir })).toThrow(
        /two-factor-development\.key/,
      );
      expect(fs.readFileSync(file, 'utf8')).toBe('dev:tooshort');
    });

    it('refuses to start in production', () => {
      const dataDir = temporaryDataDir();

      expect(() => cipherWith({ NODE_ENV: 'production', DATA_DIR: dataDir })).toThrow(
        /TWO_FACTOR_ENCRYPTION_KEYS/,
      );
      expect(fs.readdirSync(dataDir)).toEqual([]);
    });
  });

  it('refuses a configured key that is not 32 bytes', () => {
    const short = `short:${randomBytes(16).toString('base64')}`;

    expect(() => cipherWith({ TWO_FACTOR_ENCRYPTION_KEYS: `${keyNew},${short}` })).toThrow(
      /32 bytes/,
    );
  });
});
