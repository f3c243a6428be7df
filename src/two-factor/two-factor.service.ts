import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { AuditEntry, AuditService } from '../audit/audit.service';
import { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { Principal } from '../common/request-context';
import { MINUTE_MS, addMs } from '../common/time';
import { TransactionRunner, affectedRows } from '../database/transaction-runner';
import { MailOutboxService } from '../notifications/mail-outbox.service';
import { SessionsService } from '../sessions/sessions.service';
import { AuditedPasswordCheckService } from '../users/audited-password-check.service';
import { User } from '../users/user.entity';
import { CodeVerifier } from './code-verifier.service';
import { RecoveryCode } from './recovery-code.entity';
import { RecoveryCodeGenerator } from './recovery-code-generator';
import { SecretCipher } from './secret-cipher';
import { Totp } from './totp';
import { TrustedDevicesService } from './trusted-devices.service';
import { TwoFactorCredential, isCredentialActive } from './two-factor-credential.entity';
import { factsOf, isOutsideGroupClient, offersTwoFactor } from './two-factor-policy';
import { TwoFactorPolicyService } from './two-factor-policy.service';
import { TwoFactorException } from './two-factor.exception';

export const SETUP_PENDING_MS = 10 * MINUTE_MS;
export const RECOVERY_CODE_COUNT = 10;

export interface SetupAnswer {
  secret: string;
  otpauthUrl: string;
  qrCode: string;
  expiresAt: Date;
}

export interface Actor {
  userId: number;
  clientId: number;
  ip: string | null;
}

/** Activating, using and deactivating a user's TOTP 2FA. */
@Injectable()
export class TwoFactorService {
  private readonly logger = new Logger(TwoFactorService.name);

  constructor(
    @InjectRepository(TwoFactorCredential)
    private readonly credentials: Repository<TwoFactorCredential>,
    private readonly totp: Totp,
    private readonly cipher: SecretCipher,
    private readonly generator: RecoveryCodeGenerator,
    private readonly verifier: CodeVerifier,
    private readonly passwordCheck: AuditedPasswordCheckService,
    private readonly sessions: SessionsService,
    private readonly trustedDevices: TrustedDevicesService,
    private readonly policy: TwoFactorPolicyService,
    private readonly outbox: MailOutboxService,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async isActive(userId: number): Promise<boolean> {
    return isCredentialActive(await this.credentials.findOneBy({ userId }));
  }

  /**
   * Starts (or restarts) a setup after a password re-check. Nothing is active until it is
   * confirmed; a new setup replaces a pending one, never an active secret.
   */
  async setup(principal: Principal, password: string, ip: string | null): Promise<SetupAnswer> {
    this.assertManageable(principal);
    if (principal.twoFactorActive) {
      throw TwoFactorException.alreadyActive();
    }
    const { user } = principal;
    await this.passwordCheck.recheck(principal, password, 'two_factor_setup', ip);

    const secret = this.totp.generateSecret();
    const otpauthUrl = this.totp.buildUri(user.email, secret);
    const qrCode = await this.totp.qrCodeDataUrl(otpauthUrl);
    const now = this.clock.now();
    const expiresAt = addMs(now, SETUP_PENDING_MS);
    const pendingSecretCiphertext = this.cipher.encrypt(secret, user.id);

    await this.transactions.run(async (tx) => {
      await tx
        .createQueryBuilder()
        .insert()
        .into(TwoFactorCredential)
        .values({
          userId: user.id,
          secretCiphertext: null,
          activatedAt: null,
          pendingSecretCiphertext: null,
          pendingExpiresAt: null,
          lastUsedStep: null,
          failedAttempts: 0,
          lockedUntil: null,
          updatedAt: now,
        })
        .orIgnore()
        .execute();
      // Only while no secret is active: a racing confirm cannot be overwritten.
      const updated = await tx
        .createQueryBuilder()
        .update(TwoFactorCredential)
        .set({ pendingSecretCiphertext, pendingExpiresAt: expiresAt, updatedAt: now })
        .where('user_id = :userId AND secret_ciphertext IS NULL', { userId: user.id })
        .execute();
      if (affectedRows(updated) !== 1) {
        throw TwoFactorException.alreadyActive();
      }
      await this.audit.record(
        { event: 'two_factor.setup_started', ...this.context(principal, ip) },
        tx,
      );
    });

    return { secret, otpauthUrl, qrCode, expiresAt };
  }

  /** Confirms the pending setup with a code: 2FA becomes active; returns recovery codes. */
  async confirm(principal: Principal, code: string, ip: string | null): Promise<string[]> {
    this.assertManageable(principal);
    const { user } = principal;
    const now = this.clock.now();
    const pending = await this.credentials.findOneBy({ userId: user.id });
    if (
      !pending?.pendingSecretCiphertext ||
      !pending.pendingExpiresAt ||
      pending.pendingExpiresAt <= now
    ) {
      throw TwoFactorException.noPendingSetup();
    }
    const codes = this.generator.generate(RECOVERY_CODE_COUNT);
    // In the transaction that accepts the code: a confirmation that fails uses up no code.
    await this.verifier.verifyTotp(this.attempt(principal, ip), code, 'pending', async (tx) => {
      // Activates exactly the secret that was verified, unless a new setup replaced it.
      const activated = await tx
        .createQueryBuilder()
        .update(TwoFactorCredential)
        .set({
          secretCiphertext: pending.pendingSecretCiphertext,
          activatedAt: now,
          pendingSecretCiphertext: null,
          pendingExpiresAt: null,
          updatedAt: now,
        })
        .where('user_id = :userId AND pending_secret_ciphertext = :pending', {
          userId: user.id,
          pending: pending.pendingSecretCiphertext,
        })
        .andWhere('secret_ciphertext IS NULL')
        .execute();
      if (affectedRows(activated) !== 1) {
        throw TwoFactorException.noPendingSetup();
      }
      await this.replaceRecoveryCodes(tx, user.id, codes);
      await this.policy.clearDeadline(tx, user.id);
      // This session proved the code; every other session of the user ends.
      await this.sessions.markSecondFactorVerified(tx, principal.session.id);
      await this.sessions.endAllForUser(tx, user.id, principal.session.id);
      await this.outbox.enqueue(tx, 'two-factor-activated', user.email, {
        name: user.name,
        activatedAt: now.toISOString(),
      });
      await this.audit.record(
        { event: 'two_factor.activated', ...this.context(principal, ip) },
        tx,
      );
    });
    this.logger.log({ userId: user.id, clientId: principal.activeClient.id }, '2FA activated');

    return codes;
  }

  /**
   * Deactivates the caller's own 2FA with a current code or a recovery code, in the
   * transaction that accepts the code: a code is used up only if 2FA goes with it, and of two
   * deactivations racing with two valid proofs, one turns 2FA off and the other answers 409.
   */
  async deactivateOwn(
    principal: Principal,
    proof: { code?: string; recoveryCode?: string },
    ip: string | null,
  ): Promise<void> {
    this.assertManageable(principal);
    if (!principal.twoFactorActive) {
      throw TwoFactorException.notActive();
    }
    const attempt = this.attempt(principal, ip);
    const turnOff = (tx: EntityManager) => this.turnOffOwn(tx, principal, ip);
    if (proof.code !== undefined) {
      await this.verifier.verifyTotp(attempt, proof.code, 'active', turnOff);
    } else {
      await this.verifier.verifyRecoveryCode(
        attempt,
        proof.recoveryCode ?? '',
        'turn-off',
        turnOff,
      );
    }
    this.logger.log(
      { userId: principal.user.id, clientId: principal.activeClient.id },
      '2FA deactivated',
    );
  }

  private async turnOffOwn(tx: EntityManager, principal: Principal, ip: string | null) {
    const { user } = principal;
    const devicesRevoked = await this.removeTwoFactor(tx, user.id);
    await this.sessions.endAllForUser(tx, user.id, principal.session.id);
    await this.policy.holdToSetupIfRequired(tx, user.id, factsOf(principal));
    await this.outbox.enqueue(tx, 'two-factor-deactivated', user.email, {
      name: user.name,
      deactivatedAt: this.clock.now().toISOString(),
    });
    await this.audit.record(
      { event: 'two_factor.deactivated', ...this.context(principal, ip), details: { by: 'self' } },
      tx,
    );
    await this.recordDevicesRevoked(tx, devicesRevoked, this.context(principal, ip));
  }

  /** Replaces the recovery codes after a valid TOTP code. */
  async renewRecoveryCodes(
    principal: Principal,
    code: string,
    ip: string | null,
  ): Promise<string[]> {
    this.assertManageable(principal);
    if (!principal.twoFactorActive) {
      throw TwoFactorException.notActive();
    }
    const codes = this.generator.generate(RECOVERY_CODE_COUNT);
    // In the transaction that accepts the code, which holds only while 2FA is on: a renewal
    // racing a deactivation cannot leave codes behind for a user without 2FA.
    await this.verifier.verifyTotp(this.attempt(principal, ip), code, 'active', async (tx) => {
      await this.replaceRecoveryCodes(tx, principal.user.id, codes);
      await this.audit.record(
        { event: 'two_factor.recovery_codes_renewed', ...this.context(principal, ip) },
        tx,
      );
    });

    return codes;
  }

  /**
   * An administrator's (or operator's) reset: 2FA, trusted devices, recovery codes and every
   * session of the user go; the user is emailed. Throws not_active when there is nothing.
   */
  async resetForUser(
    target: User,
    homeClient: Client,
    actor: Actor | null,
    manager?: EntityManager,
  ): Promise<void> {
    const work = async (tx: EntityManager): Promise<void> => {
      // Throws not_active when there is no 2FA to remove.
      const devicesRevoked = await this.removeTwoFactor(tx, target.id);
      await this.sessions.endAllForUser(tx, target.id);
      await this.policy.holdToSetupIfRequired(tx, target.id, {
        user: target,
        homeClient,
        activeClient: homeClient,
        active: false,
      });
      await this.outbox.enqueue(tx, 'two-factor-reset-by-admin', target.email, {
        name: target.name,
        resetAt: this.clock.now().toISOString(),
      });
      const context = {
        actorUserId: actor?.userId ?? null,
        targetUserId: target.id,
        clientId: target.clientId,
        ip: actor?.ip ?? null,
      };
      await this.audit.record(
        {
          event: actor ? 'two_factor.reset_by_admin' : 'two_factor.reset_by_operator',
          ...context,
        },
        tx,
      );
      await this.recordDevicesRevoked(tx, devicesRevoked, context);
    };

    await (manager ? work(manager) : this.transactions.run(work));
  }

  /**
   * Clears setups that were never confirmed in time. Only the pending columns change: an
   * active secret on the same row stays. Returns how many were cleared.
   */
  async clearExpiredSetups(now: Date): Promise<number> {
    const result = await this.transactions.run((tx) =>
      tx
        .createQueryBuilder()
        .update(TwoFactorCredential)
        .set({ pendingSecretCiphertext: null, pendingExpiresAt: null, updatedAt: now })
        .where('pending_expires_at <= :now', { now })
        .execute(),
    );

    return affectedRows(result);
  }

  /**
   * Removes the secret, the recovery codes, the trusted devices and a code lock; returns the
   * devices revoked. Only while 2FA is still active (a conditional UPDATE): otherwise 409
   * `two_factor_not_active`, so racing removals remove, mail and audit once.
   */
  private async removeTwoFactor(tx: EntityManager, userId: number): Promise<number> {
    const removed = await tx
      .createQueryBuilder()
      .update(TwoFactorCredential)
      .set({
        secretCiphertext: null,
        activatedAt: null,
        pendingSecretCiphertext: null,
        pendingExpiresAt: null,
        // The replay barrier and the wrong-code count belong to the secret that goes: a code
        // of the next secret is new in any time step (codes of this one are refused with it),
        // and a reset is the way back for a user locked out of their codes.
        lastUsedStep: null,
        failedAttempts: 0,
        lockedUntil: null,
        updatedAt: this.clock.now(),
      })
      .where('user_id = :userId AND secret_ciphertext IS NOT NULL', { userId })
      .execute();
    if (affectedRows(removed) !== 1) {
      throw TwoFactorException.notActive();
    }
    await tx.delete(RecoveryCode, { userId });

    return this.trustedDevices.revokeAll(tx, userId);
  }

  // Trusted devices that go with 2FA are revoked devices too, so the log says so.
  private async recordDevicesRevoked(
    tx: EntityManager,
    count: number,
    context: Pick<AuditEntry, 'actorUserId' | 'targetUserId' | 'clientId' | 'ip'>,
  ): Promise<void> {
    if (count === 0) {
      return;
    }
    await this.audit.record(
      {
        event: 'trusted_device.revoked',
        ...context,
        details: { all: true, count, reason: 'two_factor_deactivated' },
      },
      tx,
    );
  }

  private async replaceRecoveryCodes(tx: EntityManager, userId: number, codes: string[]) {
    const now = this.clock.now();
    await tx.delete(RecoveryCode, { userId });
    await tx.insert(
      RecoveryCode,
      codes.map((code) => ({
        userId,
        codeHash: RecoveryCodeGenerator.hash(code),
        usedAt: null,
        createdAt: now,
      })),
    );
  }

  private assertManageable(principal: Principal): void {
    if (!offersTwoFactor(principal.homeClient) || !offersTwoFactor(principal.activeClient)) {
      throw TwoFactorException.unavailableForClient();
    }
    if (isOutsideGroupClient(principal)) {
      throw TwoFactorException.managedInGroupClient();
    }
  }

  private attempt(principal: Principal, ip: string | null) {
    return { user: principal.user, clientId: principal.activeClient.id, ip };
  }

  private context(principal: Principal, ip: string | null) {
    return {
      actorUserId: principal.user.id,
      targetUserId: principal.user.id,
      clientId: principal.activeClient.id,
      ip,
    };
  }
}
