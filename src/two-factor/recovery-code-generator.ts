import { Injectable } from '@nestjs/common';
import { createHash, randomInt } from 'node:crypto';

// Crockford's base32 leaves out I, L, O and U, so codes read aloud or copied by hand stay clear.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
// 15 characters of 5 bits each: 75 random bits per code.
const GROUPS = 3;
const GROUP_LENGTH = 5;

/** One-time recovery codes, shown as `XXXXX-XXXXX-XXXXX` and stored as SHA-256 hashes. */
@Injectable()
export class RecoveryCodeGenerator {
  /** How a code is read: hyphens and spaces do not count, nor does case. */
  static normalize(input: string): string {
    return input.replace(/[- ]/g, '').toUpperCase();
  }

  static hash(input: string): string {
    return createHash('sha256')
      .update(RecoveryCodeGenerator.normalize(input), 'utf8')
      .digest('hex');
  }

  generate(count = 10): string[] {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot generate ${count} recovery codes`);
    }

    return Array.from({ length: count }, () => generateCode());
  }
}

function generateCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let c = 0; c < GROUP_LENGTH; c++) {
      // randomInt rejects out-of-range samples, so every character is equally likely.
      group += ALPHABET[randomInt(ALPHABET.length)];
    }
    groups.push(group);
  }

  return groups.join('-');
}
