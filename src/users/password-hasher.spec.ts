import { availableParallelism } from 'node:os';

import { Environment } from '../../config/environment';
import { ApiException } from '../common/api.exception';
import { PasswordHasher } from './password-hasher';

// The module object itself: the hasher reads argon2's functions through import getters.
const argon2 = jest.requireActual<typeof import('argon2')>('argon2');

function hasherWith(concurrency: number, queue: number): PasswordHasher {
  return new PasswordHasher(
    Object.assign(new Environment(), {
      PASSWORD_HASH_CONCURRENCY: concurrency,
      PASSWORD_HASH_QUEUE: queue,
    }),
  );
}

/** Replaces argon2.hash with hashes that finish when the test says, counting those running. */
function controlledHashes() {
  const pending: (() => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const spy = jest.spyOn(argon2, 'hash').mockImplementation((password) => {
    running++;
    mostAtOnce = Math.max(mostAtOnce, running);

    return new Promise<string>((resolve) => {
      pending.push(() => {
        running--;
        resolve(`hash of ${String(password)}`);
      });
    });
  });

  return {
    /** Lets the oldest running hash finish, then gives the hasher a moment to start the next. */
    finishOne: async () => {
      pending.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    },
    started: () => spy.mock.calls.length,
    mostAtOnce: () => mostAtOnce,
    restore: () => spy.mockRestore(),
  };
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('PasswordHasher', () => {
  it('hashes with argon2id at the OWASP parameters and verifies the hash', async () => {
    const hasher = hasherWith(1, 4);

    const hash = await hasher.hash('a long enough password');

    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'a long enough password')).toBe(true);
    expect(await hasher.verify(hash, 'another password')).toBe(false);
  });

  it('answers false for no hash (an unknown user), after the same work as for a real one', async () => {
    const hasher = hasherWith(1, 4);
    const verify = jest.spyOn(argon2, 'verify');

    try {
      expect(await hasher.verify(null, 'a long enough password')).toBe(false);
      expect(verify).toHaveBeenCalledTimes(1);
    } finally {
      verify.mockRestore();
    }
  });

  it('answers false for a stored hash it cannot read', async () => {
    expect(await hasherWith(1, 4).verify('not a hash', 'password')).toBe(false);
  });

  it('runs as many hashes at once as cores when no concurrency is set', () => {
    expect(hasherWith(0, 4).concurrency).toBe(availableParallelism());
  });

  describe('the bounded queue', () => {
    let hashes: ReturnType<typeof controlledHashes>;

    beforeEach(() => {
      hashes = controlledHashes();
    });
    afterEach(() => hashes.restore());

    it('runs at most `concurrency` hashes at once and lets the others wait their turn', async () => {
      const hasher = hasherWith(2, 10);

      const results = Array.from({ length: 5 }, (_, i) => hasher.hash(`p${i}`));
      await settle();

      expect(hashes.started()).toBe(2);
      expect(hasher.queued).toBe(3);
      for (let i = 0; i < 5; i++) {
        await hashes.finishOne();
      }
      expect(await Promise.all(results)).toEqual(
        ['p0', 'p1', 'p2', 'p3', 'p4'].map((p) => `hash of ${p}`),
      );
      expect(hashes.mostAtOnce()).toBe(2);
      expect(hasher.queued).toBe(0);
    });

    it('answers 503 server_busy with a Retry-After once the queue is full', async () => {
      const hasher = hasherWith(1, 1);
      const running = hasher.hash('first');
      const waiting = hasher.hash('second');
      await settle();

      const refused = await hasher.hash('third').catch((error: unknown) => error);

      expect(refused).toBeInstanceOf(ApiException);
      expect((refused as ApiException).getStatus()).toBe(503);
      expect((refused as ApiException).code).toBe('server_busy');
      expect((refused as ApiException).retryAfterSeconds).toBeGreaterThan(0);
      expect(hashes.started()).toBe(1);
      await hashes.finishOne();
      await hashes.finishOne();
      await expect(running).resolves.toBe('hash of first');
      await expect(waiting).resolves.toBe('hash of second');
    });

    it('refuses at once with no queue while every slot is taken, and takes work again once one frees', async () => {
      const hasher = hasherWith(1, 0);
      const running = hasher.hash('first');
      await settle();

      await expect(hasher.hash('second')).rejects.toMatchObject({ code: 'server_busy' });
      await hashes.finishOne();
      await running;
      const next = hasher.hash('third');
      await settle();
      await hashes.finishOne();

      await expect(next).resolves.toBe('hash of third');
    });

    it('frees the slot of a hash that fails', async () => {
      hashes.restore();
      const failing = jest.spyOn(argon2, 'hash').mockRejectedValueOnce(new Error('out of memory'));
      const hasher = hasherWith(1, 0);

      await expect(hasher.hash('first')).rejects.toThrow('out of memory');
      failing.mockRestore();
      hashes = controlledHashes();
      const next = hasher.hash('second');
      await settle();
      await hashes.finishOne();

      await expect(next).resolves.toBe('hash of second');
    });
  });
});
