import { randomBytes } from 'node:crypto';

import {
  Environment,
  EnvironmentError,
  parseEncryptionKeys,
  validateEnvironment,
} from './environment';

function key(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

/** The problems validateEnvironment reports for `raw`, or [] when it accepts it. */
function problemsOf(raw: NodeJS.ProcessEnv): string[] {
  try {
    validateEnvironment(raw);

    return [];
  } catch (error) {
    if (error instanceof EnvironmentError) {
      return error.problems;
    }
    throw error;
  }
}

describe('validateEnvironment', () => {
  it('takes the documented defaults for an empty environment', () => {
    const env = validateEnvironment({});

    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      DATA_DIR: './data',
      TOTP_ISSUER: 'Backoffice',
      TOTP_WINDOW: 1,
      TWO_FACTOR_GRACE_DAYS: 10,
      TRUSTED_DEVICE_DAYS: 30,
      TRUST_PROXY: 'off',
      LOG_LEVEL: 'info',
      LOGIN_RATE_LIMIT: 20,
      LOGIN_RATE_WINDOW_SECONDS: 60,
      PASSWORD_HASH_CONCURRENCY: 0,
      PASSWORD_HASH_QUEUE: 64,
      JOBS_ENABLED: true,
    });
    expect(env.DB_URL).toBeUndefined();
    expect(env.TWO_FACTOR_ENCRYPTION_KEYS).toBeUndefined();
  });

  it('reads numbers and switches from their text', () => {
    const env = validateEnvironment({
      PORT: '8080',
      TOTP_WINDOW: '2',
      JOBS_ENABLED: 'false',
      TRUST_PROXY: ' ON ',
    });

    expect(env).toMatchObject({
      PORT: 8080,
      TOTP_WINDOW: 2,
      JOBS_ENABLED: false,
      TRUST_PROXY: 'on',
    });
  });

  it('takes an empty optional variable for an unset one', () => {
    const env = validateEnvironment({ DB_URL: '', SMTP_URL: '  ', TWO_FACTOR_ENCRYPTION_KEYS: '' });

    expect(env.DB_URL).toBeUndefined();
    expect(env.SMTP_URL).toBeUndefined();
    expect(env.TWO_FACTOR_ENCRYPTION_KEYS).toBeUndefined();
  });

  it('ignores variables it does not know', () => {
    expect(() =>
      validateEnvironment({ HOME: '/root', PATH: '/bin', SOMETHING: 'x' }),
    ).not.toThrow();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '0'],
    ['PORT', '70000'],
    ['NODE_ENV', 'staging'],
    ['DB_URL', 'postgres://user:pass@host/db'],
    ['DB_URL', 'mysql://host-without-database'],
    ['SMTP_URL', 'mail.example.com'],
    ['BOOTSTRAP_ADMIN_EMAIL', 'not-an-email'],
    ['BOOTSTRAP_ADMIN_PASSWORD', 'too short'],
    ['BOOTSTRAP_ADMIN_PASSWORD', 'p'.repeat(257)],
    ['TWO_FACTOR_ENCRYPTION_KEYS', 'no-colon-here'],
    ['TWO_FACTOR_ENCRYPTION_KEYS', `k1:${key(16)}`],
    ['TWO_FACTOR_ENCRYPTION_KEYS', `k1:${key()},k1:${key()}`],
    ['TOTP_ISSUER', ''],
    ['TOTP_ISSUER', 'i'.repeat(65)],
    ['TOTP_WINDOW', '3'],
    ['TOTP_WINDOW', '-1'],
    ['TOTP_WINDOW', '1.5'],
    ['TWO_FACTOR_GRACE_DAYS', '0'],
    ['TRUSTED_DEVICE_DAYS', '366'],
    ['TRUST_PROXY', 'sometimes'],
    ['LOG_LEVEL', 'verbose'],
    ['LOGIN_RATE_LIMIT', '0'],
    ['LOGIN_RATE_WINDOW_SECONDS', '3601'],
    ['PASSWORD_HASH_CONCURRENCY', '65'],
    ['PASSWORD_HASH_QUEUE', '-1'],
  ])('refuses %s=%j with a message naming it', (name, value) => {
    const problems = problemsOf({ [name]: value });

    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) {
      expect(problem.startsWith(`${name}: `)).toBe(true);
    }
  });

  it('says one thing per bad variable: what kind of value it takes, then its bounds', () => {
    expect(problemsOf({ PORT: 'eighty' })).toEqual(['PORT: must be an integer number']);
    expect(problemsOf({ PORT: '3.5' })).toEqual(['PORT: must be an integer number']);
    expect(problemsOf({ PORT: '70000' })).toEqual(['PORT: must not be greater than 65535']);
    expect(problemsOf({ TOTP_WINDOW: 'two' })).toEqual(['TOTP_WINDOW: must be an integer number']);
  });

  it('names every bad variable at once, in one error whose message lists them', () => {
    let error: unknown;
    try {
      validateEnvironment({ PORT: 'x', TOTP_WINDOW: '9', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(EnvironmentError);
    const { problems, message } = error as EnvironmentError;
    expect([...new Set(problems.map((problem) => problem.split(':')[0]))].sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'TOTP_WINDOW',
    ]);
    for (const problem of problems) {
      expect(message).toContain(problem);
    }
  });

  it('never repeats the value of a key in its messages', () => {
    const secret = key(16);

    const problems = problemsOf({ TWO_FACTOR_ENCRYPTION_KEYS: `k1:${secret}` });

    expect(problems.join('\n')).not.toContain(secret);
  });

  describe('with NODE_ENV=production', () => {
    it('refuses to start without TWO_FACTOR_ENCRYPTION_KEYS', () => {
      expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
        'TWO_FACTOR_ENCRYPTION_KEYS: required when NODE_ENV=production',
      ]);
    });

    it('refuses an empty TWO_FACTOR_ENCRYPTION_KEYS as missing', () => {
      expect(problemsOf({ NODE_ENV: 'production', TWO_FACTOR_ENCRYPTION_KEYS: ' ' })).toEqual([
        'TWO_FACTOR_ENCRYPTION_KEYS: required when NODE_ENV=production',
      ]);
    });

    it('refuses a login rate limit above 100', () => {
      const problems = problemsOf({
        NODE_ENV: 'production',
        TWO_FACTOR_ENCRYPTION_KEYS: `k1:${key()}`,
        LOGIN_RATE_LIMIT: '101',
      });

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^LOGIN_RATE_LIMIT: /);
    });

    it('starts with valid keys', () => {
      const env = validateEnvironment({
        NODE_ENV: 'production',
        TWO_FACTOR_ENCRYPTION_KEYS: `new:${key()},old:${key()}`,
      });

      expect(env).toBeInstanceOf(Environment);
      expect(env.NODE_ENV).toBe('production');
    });
  });
});

describe('parseEncryptionKeys', () => {
  it('reads id:base64 pairs in order, the first being the one that encrypts', () => {
    const first = randomBytes(32);
    const second = randomBytes(32);

    const keys = parseEncryptionKeys(
      `new:${first.toString('base64')}, old:${second.toString('base64')}`,
    );

    expect(keys).toEqual([
      { id: 'new', key: first },
      { id: 'old', key: second },
    ]);
  });
});
