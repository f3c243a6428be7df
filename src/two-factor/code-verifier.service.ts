import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';

import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { MINUTE_MS, addMs, secondsUntil } from '../common/time';
import { Statements } from '../database/statements';
import { TransactionRunner, affectedRows } from '../database/transaction-runner';
import { MailOutboxService } from '../notifications/mail-outbox.service';
import { SessionsService } from '../sessions/sessions.service';
import { User } from '../users/user.entity';
import { RecoveryCode } from './recovery-code.entity';
import { RecoveryCodeGenerator } from './recovery-code-generator';
import { SecretCipher } from './secret-cipher';
import { Totp } from './totp';
import { TwoFactorCredential } from './two-factor-credential.entity';
import { TWO_FACTOR_ERRORS, TwoFactorException } from './two-factor.exception';

export const CODE_FAILURE_LIMIT = 10;
export const CODE_LOCK_MS = 15 * MINUTE_MS;

export type CodeSecret = 'active' | 'pending';

export interface CodeAttempt {
  user: User;
  clientId: number;
  ip: string | null;
  /** A pending login session: the fifth wrong code in it ends it. */
  pendingSessionId?: number;
}

type Outcome<T> = { ok: true; value: T } | { ok: false };

/** What a recovery code is used for: the login's code step, or turning 2FA off. */
export type RecoveryCodeUse = 'sign-in' | 'turn-off';

/** Work that must happen exactly when a code is accepted, in the transaction that accepts it. */
export type OnAccepted<T> = (tx: EntityManager) => Promise<T>;

const nothing: OnAccepted<void> = () => Promise.resolve();

/** A stored secret could not be decrypted; answered as 503 by the filter, never accepted. */
export class SecretUnavailableError extends TwoFactorException {
  constructor(readonly reason: unknown) {
    super(
      TWO_FACTOR_ERRORS.secretUnavailable,
      'Two-factor verification is unavailable; contact support',
      60,
    );
  }
}

/**
 * The one verifier behind every code check (login step, confirm, deactivate, renewal), so the
 * replay barrier and the counters are shared.
 *
 * A TOTP code is accepted only if its time step is above the user's last accepted step, by a
 * conditional UPDATE: racing requests and several instances agree that exactly one wins. A
 * replay answers like a wrong code and counts as one. Ten wrong codes in a row lock code entry
 * for 15 minutes; attempts during a lock are refused without counting, so they cannot extend it.
 */
@Injectable()
export class CodeVerifier {
  private readonly logger = new Logger(CodeVerifier.name);

  constructor(
    private readonly totp: Totp,
    private readonly cipher: SecretCipher,
    private readonly transactions: TransactionRunner,
    private readonly statements: Statements,
    private readonly sessions: SessionsService,
    private readonly outbox: MailOutboxService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /**
   * Throws 401 invalid_code (counted) or 429 two_factor_locked unless `code` is accepted.
   * `onAccepted` runs in the transaction that accepts the code: if it throws, the code stays
   * unused.
   */
  async verifyTotp<T = void>(
    attempt: CodeAttempt,
    code: string,
    secret: CodeSecret,
    onAccepted: OnAccepted<T> = nothing as OnAccepted<T>,
  ): Promise<T> {
    // Its own transaction, always committed: a failure must count even though the caller
    // answers with an error.
    const outcome = await this.transactions.run(async (tx): Promise<Outcome<T>> => {
      const now = this.clock.now();
      const credential = await this.getUnlocked(tx, attempt.user.id, now);
      const ciphertext =
        secret === 'active' ? credential.secretCiphertext : credential.pendingSecretCiphertext;
      if (!ciphertext) {
        throw secret === 'active'
          ? TwoFactorException.notActive()
          : TwoFactorException.noPendingSetup();
      }
      const step = this.totp.findMatchingStep(this.decrypt(ciphertext, attempt.user.id), code, now);
      if (
        step !== null &&
        (await this.consumeStep(tx, attempt.user.id, step, now, secret, ciphertext))
      ) {
        return { ok: true, value: await onAccepted(tx) };
      }
      await this.recordFailure(tx, attempt, now);

      return { ok: false };
    });

    return this.settle(attempt, outcome);
  }

  /**
   * Accepts an unused recovery code once, even under races; wrong ones count like codes.
   * `onAccepted` runs in the transaction that uses the code up, as for `verifyTotp`.
   */
  async verifyRecoveryCode<T = void>(
    attempt: CodeAttempt,
    input: string,
    use: RecoveryCodeUse,
    onAccepted: OnAccepted<T> = nothing as OnAccepted<T>,
  ): Promise<T> {
    const outcome = await this.transactions.run(async (tx): Promise<Outcome<T>> => {
      const now = this.clock.now();
      await this.getUnlocked(tx, attempt.user.id, now);
      const used = await tx
        .createQueryBuilder()
        .update(RecoveryCode)
        .set({ usedAt: now })
        .where('user_id = :userId AND code_hash = :hash AND used_at IS NULL', {
          userId: attempt.user.id,
          hash: RecoveryCodeGenerator.hash(input),
        })
        .execute();
      if (affectedRows(used) !== 1) {
        await this.recordFailure(tx, attempt, now);

        return { ok: false };
      }
      await this.resetFailures(tx, attempt.user.id);
      // A code that turns 2FA off is told of by the deactivation mail, which says that every
      // code is gone; this one would ask the user to renew a set that no longer exists.
      if (use === 'sign-in') {
        await this.outbox.enqueue(tx, 'recovery-code-used', attempt.user.email, {
          name: attempt.user.name,
          usedAt: now.toISOString(),
        });
      }
      await this.audit.record(
        {
          event: 'two_factor.recovery_code_used',
          actorUserId: attempt.user.id,
          targetUserId: attempt.user.id,
          clientId: attempt.clientId,
          ip: attempt.ip,
          details: { use },
        },
        tx,
      );

      return { ok: true, value: await onAccepted(tx) };
    });

    return this.settle(attempt, outcome);
  }

  private settle<T>(attempt: CodeAttempt, outcome: Outcome<T>): T {
    if (!outcome.ok) {
      this.logger.warn(
        { userId: attempt.user.id, clientId: attempt.clientId },
        'Wrong two-factor code',
      );
      throw TwoFactorException.invalidCode();
    }

    return outcome.value;
  }

  // A secret that does not decrypt (tampered, or its key is gone), or decrypts to something
  // that is not a secret of ours, fails closed: no code is accepted.
  private decrypt(ciphertext: string, userId: number): string {
    let secret: string;
    try {
      secret = this.cipher.decrypt(ciphertext, userId);
    } catch (error) {
      this.logger.error({ userId }, 'A stored 2FA secret failed to decrypt');
      throw new SecretUnavailableError(error);
    }
    if (!Totp.isWellFormedSecret(secret)) {
      this.logger.error({ userId }, 'A stored 2FA secret is malformed');
      throw new SecretUnavailableError(new Error('malformed secret'));
    }

    return secret;
  }

  private async getUnlocked(
    tx: EntityManager,
    userId: number,
    now: Date,
  ): Promise<TwoFactorCredential> {
    const credential = await this.statements.findOne(tx, TwoFactorCredential, 't.user_id = ?', [
      userId,
    ]);
    if (!credential) {
      throw TwoFactorException.notActive();
    }
    if (credential.lockedUntil && credential.lockedUntil > now) {
      throw TwoFactorException.locked(secondsUntil(now, credential.lockedUntil));
    }

    return credential;
  }

  /**
   * The replay barrier: of two requests with the same step, one changes the row. The code is
   * accepted only while the secret it matched is still the one stored, so a code checked
   * against a secret that a concurrent deactivation, reset or new setup just replaced changes
   * nothing and its work (`onAccepted`) does not run.
   */
  private async consumeStep(
    tx: EntityManager,
    userId: number,
    step: number,
    now: Date,
    secret: CodeSecret,
    ciphertext: string,
  ): Promise<boolean> {
    const column = secret === 'active' ? 'secret_ciphertext' : 'pending_secret_ciphertext';
    const changed = await this.statements.execute(
      tx,
      'UPDATE two_factor_credentials SET last_used_step = ?, failed_attempts = 0, updated_at = ? ' +
        'WHERE user_id = ? AND (last_used_step IS NULL OR last_used_step < ?) ' +
        `AND (locked_until IS NULL OR locked_until <= ?) AND ${column} = ?`,
      [step, now, userId, step, now, ciphertext],
    );

    return changed === 1;
  }

  private async resetFailures(tx: EntityManager, userId: number): Promise<void> {
    await tx.update(TwoFactorCredential, { userId }, { failedAttempts: 0 });
  }

  private async recordFailure(tx: EntityManager, attempt: CodeAttempt, now: Date): Promise<void> {
    const { user } = attempt;
    const counted = await tx
      .createQueryBuilder()
      .update(TwoFactorCredential)
      .set({ failedAttempts: () => 'failed_attempts + 1', updatedAt: now })
      .where('user_id = :userId', { userId: user.id })
      .andWhere('(locked_until IS NULL OR locked_until <= :now)', { now })
      .execute();
    if (affectedRows(counted) !== 1) {
      // A racing request started the lock after this one looked (MySQL reads a snapshot): this
      // attempt falls in the lock, so it is refused uncounted and cannot lock a second time.
      throw TwoFactorException.locked(secondsUntil(now, addMs(now, CODE_LOCK_MS)));
    }
    // The failure that reaches the limit starts the lock; the count starts again after it.
    const locked = await tx
      .createQueryBuilder()
      .update(TwoFactorCredential)
      .set({ failedAttempts: 0, lockedUntil: addMs(now, CODE_LOCK_MS) })
      .where('user_id = :userId AND failed_attempts >= :limit', {
        userId: user.id,
        limit: CODE_FAILURE_LIMIT,
      })
      .execute();
    const context = {
      actorUserId: user.id,
      targetUserId: user.id,
      clientId: attempt.clientId,
      ip: attempt.ip,
    };
    await this.audit.record({ event: 'two_factor.code_failed', ...context }, tx);

    if (affectedRows(locked) === 1) {
      this.logger.warn({ userId: user.id, clientId: attempt.clientId }, 'Code entry locked');
      await this.audit.record({ event: 'two_factor.locked', ...context }, tx);
      await this.outbox.enqueue(tx, 'two-factor-locked', user.email, {
        name: user.name,
        lockedUntil: addMs(now, CODE_LOCK_MS).toISOString(),
      });
    }
    if (attempt.pendingSessionId !== undefined) {
      const ended = await this.sessions.recordCodeFailure(tx, attempt.pendingSessionId);
      if (ended) {
        await this.audit.record({ event: 'two_factor.session_ended', ...context }, tx);
      }
    }
  }
}
