import { Column, Entity, PrimaryColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

/**
 * A user's TOTP state: the active secret, a pending setup, the last accepted time step (the
 * replay barrier) and the consecutive wrong-code counter with its lock. One row per user.
 */
@Entity({ name: 'two_factor_credentials' })
export class TwoFactorCredential {
  @PrimaryColumn({ name: 'user_id', type: 'int' })
  userId: number;

  /** AES-256-GCM ciphertext of the active secret (see SecretCipher), or null. */
  @Column({ name: 'secret_ciphertext', type: 'varchar', length: 255, nullable: true })
  secretCiphertext: string | null;

  @DateTimeColumn('activated_at', { nullable: true })
  activatedAt: Date | null;

  @Column({ name: 'pending_secret_ciphertext', type: 'varchar', length: 255, nullable: true })
  pendingSecretCiphertext: string | null;

  @DateTimeColumn('pending_expires_at', { nullable: true })
  pendingExpiresAt: Date | null;

  /** The highest time step accepted for this user; a step is accepted only above it. */
  @Column({
    name: 'last_used_step',
    type: 'bigint',
    nullable: true,
    transformer: {
      to: (value: number | null) => value,
      from: (value: string | number | null) => (value === null ? null : Number(value)),
    },
  })
  lastUsedStep: number | null;

  @Column({ name: 'failed_attempts', type: 'int' })
  failedAttempts: number;

  @DateTimeColumn('locked_until', { nullable: true })
  lockedUntil: Date | null;

  @DateTimeColumn('updated_at')
  updatedAt: Date;
}

/** 2FA is active once a secret has been confirmed. */
export function isCredentialActive(credential: TwoFactorCredential | null): boolean {
  return Boolean(credential?.secretCiphertext && credential.activatedAt);
}
