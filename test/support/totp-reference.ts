import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 decoding, written apart from the product's code. */
export function base32Decode(text: string): Buffer {
  const bits = [...text.replace(/=+$/, '')]
    .map((char) => ALPHABET.indexOf(char).toString(2).padStart(5, '0'))
    .join('');

  return Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)));
}

/** The code an authenticator app shows for `secret` at `at` (RFC 6238, SHA-1, 6 digits). */
export function totpCode(secret: string, at: Date, stepOffset = 0): string {
  const counter = Math.floor(at.getTime() / 30_000) + stepOffset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', base32Decode(secret)).update(message).digest();
  const offset = digest[digest.length - 1] & 0x0f;

  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** A 6-digit code that is not the right one for any step in the window around `at`. */
export function wrongCode(secret: string, at: Date, window = 2): string {
  const taken = new Set(
    Array.from({ length: 2 * window + 1 }, (_, i) => totpCode(secret, at, i - window)),
  );
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!taken.has(candidate)) {
      return candidate;
    }
  }
}
