import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as qrcode from 'qrcode';
import * as speakeasy from 'speakeasy';
import { Environment } from '../../config/environment';

const STEP_SECONDS = 30;
const DIGITS = 6;
const SECRET_BYTES = 20;
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
// 20 bytes are exactly 32 base32 characters, so our secrets never carry padding.
const SECRET_FORMAT = /^[A-Z2-7]{32}$/;
const CODE_FORMAT = /^[0-9]{6}$/;
// speakeasy writes the counter into its 8-byte buffer with 32-bit shifts, so steps from 2^31
// on (the year 4010) would get wrong high bytes.
const MAX_STEP = 0x7fffffff;

/**
 * RFC 6238 codes (HMAC-SHA1, 6 digits, 30-second steps). The only place that touches speakeasy,
 * which computes the code of one step; the secret, the code format, the comparison and the URI
 * are ours because speakeasy is lenient about all of them.
 */
@Injectable()
export class Totp {
  private readonly window: number;
  private readonly issuer: string;

  constructor(env: Environment) {
    this.window = env.TOTP_WINDOW;
    // A colon separates issuer and account in the label, so it cannot appear in either.
    this.issuer = env.TOTP_ISSUER.replace(/:/g, '').trim();
    if (this.issuer === '') {
      throw new Error('TOTP_ISSUER must contain a character other than ":" and spaces');
    }
  }

  /** A code from a request as 6 ASCII digits with U+0020 spaces removed, or null. */
  static normalizeCode(input: unknown): string | null {
    if (typeof input !== 'string') {
      return null;
    }

    const code = input.replace(/ /g, '');

    return CODE_FORMAT.test(code) ? code : null;
  }

  /** A secret as we generate them: 32 upper-case base32 characters (160 bits). */
  static isWellFormedSecret(secret: string): boolean {
    return SECRET_FORMAT.test(secret);
  }

  generateSecret(): string {
    return encodeBase32(randomBytes(SECRET_BYTES));
  }

  stepAt(at: Date): number {
    const ms = at.getTime();
    if (Number.isNaN(ms)) {
      throw new RangeError('Cannot compute a TOTP step for an invalid date');
    }

    return Math.floor(ms / 1000 / STEP_SECONDS);
  }

  codeAtStep(secret: string, step: number): string {
    // speakeasy's base32 decoder never fails: it maps unknown characters to zero bits, so a
    // corrupt secret would silently yield codes for another key.
    if (!SECRET_FORMAT.test(secret)) {
      throw new Error('A TOTP secret must be 32 upper-case base32 characters');
    }
    if (!Number.isInteger(step) || step < 0 || step > MAX_STEP) {
      throw new RangeError(`TOTP step out of range: ${step}`);
    }

    const code = speakeasy.totp({
      secret,
      encoding: 'base32',
      time: step * STEP_SECONDS,
      step: STEP_SECONDS,
      digits: DIGITS,
      algorithm: 'sha1',
    });
    if (!CODE_FORMAT.test(code)) {
      throw new Error('speakeasy returned a code that is not 6 digits');
    }

    return code;
  }

  /**
   * The highest step within the drift window whose code equals the given code, or null. Every
   * candidate is compared in constant time, with no early exit, so timing says nothing about
   * which step matched.
   */
  findMatchingStep(secret: string, code: string, at: Date): number | null {
    const normalized = Totp.normalizeCode(code);
    if (normalized === null) {
      return null;
    }

    const given = Buffer.from(normalized, 'ascii');
    const current = this.stepAt(at);
    let matched: number | null = null;
    for (let step = Math.max(0, current - this.window); step <= current + this.window; step++) {
      const expected = Buffer.from(this.codeAtStep(secret, step), 'ascii');
      if (timingSafeEqual(expected, given)) {
        matched = step;
      }
    }

    return matched;
  }

  buildUri(email: string, secret: string): string {
    const issuer = encodeURIComponent(this.issuer);
    const account = encodeURIComponent(email.replace(/:/g, ''));

    return (
      `otpauth://totp/${issuer}:${account}?secret=${secret}&issuer=${issuer}` +
      `&algorithm=SHA1&digits=${DIGITS}&period=${STEP_SECONDS}`
    );
  }

  async qrCodeDataUrl(uri: string): Promise<string> {
    return qrcode.toDataURL(uri, { margin: 4, errorCorrectionLevel: 'M', type: 'image/png' });
  }
}

// RFC 4648 section 6, upper case, without padding.
function encodeBase32(bytes: Buffer): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      output += BASE32_ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) {
    output += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  }

  return output;
}
