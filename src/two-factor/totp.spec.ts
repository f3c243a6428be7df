import { createHmac, randomBytes, randomInt } from 'node:crypto';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { Environment } from '../../config/environment';
import { Totp } from './totp';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// Independent of the code under test: base32 through a bit string, HOTP straight from RFC 4226.
function base32Encode(bytes: Buffer): string {
  const bits = [...bytes].map((byte) => byte.toString(2).padStart(8, '0')).join('');

  return (bits.match(/.{1,5}/g) ?? [])
    .map((chunk) => ALPHABET[parseInt(chunk.padEnd(5, '0'), 2)])
    .join('');
}

function base32Decode(text: string): Buffer {
  const bits = [...text]
    .map((char) => ALPHABET.indexOf(char).toString(2).padStart(5, '0'))
    .join('');

  return Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)));
}

function referenceHotp(key: Buffer, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', key).update(message).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;

  return String(binary % 1_000_000).padStart(6, '0');
}

function totpWith(settings: Partial<Pick<Environment, 'TOTP_WINDOW' | 'TOTP_ISSUER'>> = {}): Totp {
  return new Totp(Object.assign(new Environment(), settings));
}

describe('Totp', () => {
  const rfcSecret = base32Encode(Buffer.from('12345678901234567890', 'ascii'));

  describe('codeAtStep', () => {
    it.each([
      [59, '287082'],
      [1111111109, '081804'],
      [1111111111, '050471'],
      [1234567890, '005924'],
      [2000000000, '279037'],
      [20000000000, '353130'],
    ])('matches the RFC 6238 SHA-1 vector at T=%i (%s)', (seconds, expected) => {
      const totp = totpWith();

      expect(rfcSecret).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
      expect(totp.codeAtStep(rfcSecret, totp.stepAt(new Date(seconds * 1000)))).toBe(expected);
    });

    it('agrees with an independent HOTP implementation over 200 random secrets and times', () => {
      const totp = totpWith();

      for (let i = 0; i < 200; i++) {
        const key = randomBytes(20);
        // Half the samples around today, half anywhere in the supported step range.
        const step =
          i % 2 === 0
            ? totp.stepAt(new Date(randomInt(0, 4_102_444_800) * 1000))
            : randomInt(0, 2 ** 31);

        expect(totp.codeAtStep(base32Encode(key), step)).toBe(referenceHotp(key, step));
      }
    });

    it('keeps leading zeros', () => {
      // RFC vector at T=1234567890 is 89005924, so its 6-digit form starts with two zeros.
      expect(totpWith().codeAtStep(rfcSecret, 41152263)).toBe('005924');
    });

    it.each([
      'gezdgnbvgy3tqojqgezdgnbvgy3tqojq',
      'GEZDGNBVGY3TQOJQ',
      `${'A'.repeat(32)}=`,
      '0'.repeat(32),
    ])('refuses a malformed secret %p instead of decoding it leniently', (secret) => {
      expect(() => totpWith().codeAtStep(secret, 1)).toThrow();
    });

    it.each([-1, 1.5, 2 ** 31, Number.NaN])('refuses the out-of-range step %p', (step) => {
      expect(() => totpWith().codeAtStep(rfcSecret, step)).toThrow(RangeError);
    });
  });

  describe('stepAt', () => {
    it('counts 30-second steps since the epoch', () => {
      const totp = totpWith();

      expect(totp.stepAt(new Date(0))).toBe(0);
      expect(totp.stepAt(new Date(29_999))).toBe(0);
      expect(totp.stepAt(new Date(30_000))).toBe(1);
      expect(totp.stepAt(new Date(59_000))).toBe(1);
    });

    it('refuses an invalid date', () => {
      expect(() => totpWith().stepAt(new Date(Number.NaN))).toThrow(RangeError);
    });
  });

  describe('generateSecret', () => {
    it('returns 32 base32 characters without padding that decode to 20 bytes', () => {
      const secret = totpWith().generateSecret();

      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(secret).not.toContain('=');
      expect(base32Decode(secret)).toHaveLength(20);
      expect(base32Encode(base32Decode(secret))).toBe(secret);
    });

    it('returns a different secret each time', () => {
      const totp = totpWith();

      expect(totp.generateSecret()).not.toBe(totp.generateSecret());
    });

    it('returns secrets that codeAtStep accepts', () => {
      const totp = totpWith();
      const secret = totp.generateSecret();

      expect(totp.codeAtStep(secret, 1000)).toBe(referenceHotp(base32Decode(secret), 1000));
    });
  });

  describe('normalizeCode', () => {
    it.each([
      ['123456', '123456'],
      [' 123 456 ', '123456'],
      ['000000', '000000'],
      ['012 345', '012345'],
    ])('accepts %p as %p', (input, expected) => {
      expect(Totp.normalizeCode(input)).toBe(expected);
    });

    it.each([
      123456,
      '12345',
      '1234567',
      '55632a',
      '١٢٣٤٥٦',
      '１２３４５６',
      '123456\n',
      '12\t3456',
      '123\u00a0456',
      '',
      '      ',
      '+12345',
      '-12345',
      '1e5000',
      null,
      undefined,
      {},
      ['123456'],
    ])('rejects %p', (input) => {
      expect(Totp.normalizeCode(input)).toBeNull();
    });
  });

  describe('findMatchingStep', () => {
    const at = new Date(1_700_000_000_000);

    it.each([0, 1, 2])('with window %i accepts exactly the steps within the window', (window) => {
      const totp = totpWith({ TOTP_WINDOW: window });
      const current = totp.stepAt(at);

      for (let offset = -3; offset <= 3; offset++) {
        const code = totp.codeAtStep(rfcSecret, current + offset);
        const expected = Math.abs(offset) <= window ? current + offset : null;

        expect(totp.findMatchingStep(rfcSecret, code, at)).toBe(expected);
      }
    });

    it('accepts the code with U+0020 spaces', () => {
      const totp = totpWith({ TOTP_WINDOW: 0 });
      const code = totp.codeAtStep(rfcSecret, totp.stepAt(at));

      expect(totp.findMatchingStep(rfcSecret, `${code.slice(0, 3)} ${code.slice(3)}`, at)).toBe(
        totp.stepAt(at),
      );
    });

    it('returns null for a malformed code without computing any code', () => {
      const totp = totpWith();
      const codeAtStep = jest.spyOn(totp, 'codeAtStep');
      const code = totp.codeAtStep(rfcSecret, totp.stepAt(at));
      codeAtStep.mockClear();

      expect(totp.findMatchingStep(rfcSecret, `${code.slice(0, 5)}a`, at)).toBeNull();
      expect(codeAtStep).not.toHaveBeenCalled();
    });

    it('returns null for a wrong code', () => {
      const totp = totpWith({ TOTP_WINDOW: 2 });
      const current = totp.stepAt(at);
      const window = new Set([-2, -1, 0, 1, 2].map((d) => totp.codeAtStep(rfcSecret, current + d)));
      const wrong = ['000000', '111111', '222222', '333333', '444444', '555555'].find(
        (code) => !window.has(code),
      );

      expect(totp.findMatchingStep(rfcSecret, wrong!, at)).toBeNull();
    });

    it('checks every candidate step and returns the highest match', () => {
      const totp = totpWith({ TOTP_WINDOW: 2 });
      const current = totp.stepAt(at);
      const codeAtStep = jest
        .spyOn(totp, 'codeAtStep')
        .mockImplementation((_secret, step) =>
          step === current - 2 || step === current + 1 ? '424242' : '000000',
        );

      expect(totp.findMatchingStep(rfcSecret, '424242', at)).toBe(current + 1);
      expect(codeAtStep.mock.calls.map(([, step]) => step)).toEqual([
        current - 2,
        current - 1,
        current,
        current + 1,
        current + 2,
      ]);
    });
  });

  describe('buildUri', () => {
    it('percent-encodes the label and issuer and removes colons', () => {
      const totp = totpWith({ TOTP_ISSUER: 'Acme: Corp' });

      expect(totp.buildUri('a b@x.com', 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')).toBe(
        'otpauth://totp/Acme%20Corp:a%20b%40x.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' +
          '&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30',
      );
    });

    it('removes colons from the email and encodes reserved characters', () => {
      const totp = totpWith({ TOTP_ISSUER: 'Back&office?' });
      const uri = new URL(totp.buildUri('x:y+z@example.com', rfcSecret));

      expect(uri.host).toBe('totp');
      expect(uri.pathname).toBe('/Back%26office%3F:xy%2Bz%40example.com');
      expect(uri.searchParams.get('issuer')).toBe('Back&office?');
      expect(uri.searchParams.get('secret')).toBe(rfcSecret);
    });

    it('refuses an issuer made only of colons and spaces', () => {
      expect(() => totpWith({ TOTP_ISSUER: ' : ' })).toThrow(/TOTP_ISSUER/);
    });
  });

  describe('qrCodeDataUrl', () => {
    it('encodes the URI as a PNG QR code with a quiet zone of 4 modules', async () => {
      const totp = totpWith({ TOTP_ISSUER: 'Acme: Corp' });
      const uri = totp.buildUri('a b@x.com', totp.generateSecret());

      const dataUrl = await totp.qrCodeDataUrl(uri);

      const prefix = 'data:image/png;base64,';
      expect(dataUrl.startsWith(prefix)).toBe(true);
      const png = PNG.sync.read(Buffer.from(dataUrl.slice(prefix.length), 'base64'));
      const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
      expect(qr?.data).toBe(uri);

      const modules = 17 + 4 * qr!.version;
      const moduleSize = png.width / (modules + 8);
      expect(png.height).toBe(png.width);
      expect(Number.isInteger(moduleSize)).toBe(true);
      const quiet = 4 * moduleSize;
      const dark = (x: number, y: number): boolean => png.data[(y * png.width + x) * 4] < 128;
      for (let y = 0; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) {
          const inQuietZone =
            x < quiet || y < quiet || x >= png.width - quiet || y >= png.height - quiet;
          if (inQuietZone) {
            expect(dark(x, y)).toBe(false);
          }
        }
      }
      // The three finder patterns start right after the quiet zone, so it is exactly 4 modules.
      expect(dark(quiet, quiet)).toBe(true);
      expect(dark(png.width - quiet - 1, quiet)).toBe(true);
      expect(dark(quiet, png.height - quiet - 1)).toBe(true);
      expect(qr!.location.topLeftCorner.x).toBeCloseTo(quiet, -1);
    });
  });
});
