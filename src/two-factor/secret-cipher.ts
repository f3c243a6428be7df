import { Injectable, Logger } from '@nestjs/common';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncryptionKey, Environment, parseEncryptionKeys } from '../../config/environment';
import { SecretCipherError } from './secret-cipher.error';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const DEVELOPMENT_KEY_FILE = 'two-factor-development.key';
const DEVELOPMENT_KEY_ID = 'dev';
const KEY_FILE_FORMAT = /^[A-Za-z0-9_-]+:[A-Za-z0-9+/]+={0,2}$/;

/**
 * AES-256-GCM for TOTP secrets, bound to their user by the associated data. Stored form:
 * `v1.<keyId>.<iv>.<tag>.<ciphertext>`, base64url parts. The first key encrypts, every key
 * decrypts, so keys rotate by putting a new one first.
 */
@Injectable()
export class SecretCipher {
  private readonly logger = new Logger(SecretCipher.name);
  private readonly keys: EncryptionKey[];

  constructor(env: Environment) {
    if (env.TWO_FACTOR_ENCRYPTION_KEYS) {
      this.keys = parseEncryptionKeys(env.TWO_FACTOR_ENCRYPTION_KEYS);
    } else if (env.NODE_ENV === 'production') {
      // Configuration validation refuses this already; a second check costs nothing.
      throw new Error('TWO_FACTOR_ENCRYPTION_KEYS is required when NODE_ENV=production');
    } else {
      const file = path.resolve(env.DATA_DIR, DEVELOPMENT_KEY_FILE);
      this.keys = [readOrCreateDevelopmentKey(file)];
      this.logger.warn(
        `Two-factor secrets are encrypted with the local development key file ${file}; ` +
          'the service runs in development mode. Set TWO_FACTOR_ENCRYPTION_KEYS for production.',
      );
    }

    if (this.keys.length === 0 || this.keys.some((k) => k.key.length !== KEY_BYTES)) {
      throw new Error('Every two-factor encryption key must be 32 bytes');
    }
  }

  encrypt(plaintext: string, userId: number): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(userId));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();

    return [VERSION, id, encode(iv), encode(tag), encode(ciphertext)].join('.');
  }

  decrypt(stored: string, userId: number): string {
    const parts = stored.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new SecretCipherError('Stored secret has an unknown format');
    }

    const [, keyId, ivText, tagText, ciphertextText] = parts;
    const entry = this.keys.find((k) => k.id === keyId);
    if (!entry) {
      throw new SecretCipherError(`Stored secret uses an unknown key id "${keyId}"`);
    }

    const iv = decode(ivText);
    const tag = decode(tagText);
    const ciphertext = decode(ciphertextText);
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || !ciphertext) {
      throw new SecretCipherError('Stored secret has a malformed part');
    }

    try {
      const decipher = createDecipheriv(ALGORITHM, entry.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(userId));
      decipher.setAuthTag(tag);

      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretCipherError('Stored secret failed authentication', { cause: error });
    }
  }

  needsReencryption(stored: string): boolean {
    const [version, keyId] = stored.split('.');

    return version !== VERSION || keyId !== this.keys[0].id;
  }
}

function associatedData(userId: number): Buffer {
  return Buffer.from(`user:${userId}`, 'utf8');
}

function encode(bytes: Buffer): string {
  return bytes.toString('base64url');
}

// Node's base64url decoder skips characters outside the alphabet and ignores the spare low bits
// of the last character, so a changed character could decode to the same bytes. Only the
// canonical encoding is accepted.
function decode(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');

  return encode(bytes) === text ? bytes : null;
}

// Several instances may start at once: the key is written to a temporary file and linked into
// place, which fails if another instance won, so nobody ever reads a half-written key.
function readOrCreateDevelopmentKey(file: string): EncryptionKey {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const content = `${DEVELOPMENT_KEY_ID}:${randomBytes(KEY_BYTES).toString('base64')}`;
    fs.writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
    try {
      fs.chmodSync(temporary, 0o600);
      fs.linkSync(temporary, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    } finally {
      fs.unlinkSync(temporary);
    }
  }

  const content = fs.readFileSync(file, 'utf8').trim();
  const key = KEY_FILE_FORMAT.test(content) ? parseEncryptionKeys(content)[0] : undefined;
  if (key?.key.length !== KEY_BYTES) {
    // Never replace it: secrets already stored under that key would be lost.
    throw new Error(`${file} must hold one key as id:base64 of 32 bytes; fix or remove it`);
  }

  return key;
}
