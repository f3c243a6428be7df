import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

import { Environment } from '../../config/environment';
import { CommonException } from '../common/common.exception';

// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, parallelism 1.
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19 * 1024,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * Hashes and verifies passwords with argon2id. At most as many hashes run at once as there are
 * cores; further requests wait in a bounded queue, and past it the caller gets 503, so a burst
 * of logins queues instead of exhausting memory.
 */
@Injectable()
export class PasswordHasher {
  readonly concurrency: number;
  private readonly queueLimit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private dummyHash?: Promise<string>;

  constructor(env: Environment) {
    this.concurrency = env.PASSWORD_HASH_CONCURRENCY || availableParallelism();
    this.queueLimit = env.PASSWORD_HASH_QUEUE;
  }

  hash(password: string): Promise<string> {
    return this.limited(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** Verifies against `hash`, or against a dummy hash when there is none, in the same time. */
  async verify(hash: string | null, password: string): Promise<boolean> {
    const target = hash ?? (await this.getDummyHash());

    return this.limited(async () => {
      try {
        return (await argon2.verify(target, password)) && hash !== null;
      } catch {
        return false;
      }
    });
  }

  get queued(): number {
    return this.waiting.length;
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= argon2.hash(randomBytes(32).toString('base64'), ARGON2_OPTIONS);

    return this.dummyHash;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) {
        throw CommonException.serverBusy(1);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) {
        next();
      } else {
        this.running--;
      }
    }
  }
}
