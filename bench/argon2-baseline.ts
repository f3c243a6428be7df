import * as argon2 from 'argon2';
import { performance } from 'node:perf_hooks';

import { ARGON2_OPTIONS } from '../src/users/password-hasher';

export interface HashRate {
  perSecond: number;
  hashes: number;
  seconds: number;
  concurrency: number;
}

/**
 * argon2id hashes per second at the product's parameters, `concurrency` in flight, in the
 * bench process (argon2 runs on libuv's thread pool, four threads by default): the ceiling of
 * password logins on this machine.
 */
export async function argon2HashRate(seconds: number, concurrency: number): Promise<HashRate> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let hashes = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await argon2.hash('bench password 2026', ARGON2_OPTIONS);
      hashes += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;

  return { perSecond: hashes / elapsed, hashes, seconds: elapsed, concurrency };
}
