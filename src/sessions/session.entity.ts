import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

export const BACKOFFICE_CHANNEL = 'backoffice';
export const APP_CHANNELS = ['voucher-app', 'ticket-app', 'web-check-in'] as const;
export type AppChannel = (typeof APP_CHANNELS)[number];
export type Channel = typeof BACKOFFICE_CHANNEL | AppChannel;

/**
 * A session stores facts only. Its stage is derived on every request from these facts and
 * the user's current state (see SessionStage), never cached here.
 */
@Entity({ name: 'sessions' })
export class Session {
  @PrimaryGeneratedColumn()
  id: number;

  /** SHA-256 of the bearer token, hex. The token itself is never stored. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'user_id', type: 'int' })
  userId: number;

  @Column({ type: 'varchar', length: 20 })
  channel: Channel;

  @Column({ name: 'active_client_id', type: 'int' })
  activeClientId: number;

  @DateTimeColumn('password_verified_at')
  passwordVerifiedAt: Date;

  @DateTimeColumn('second_factor_verified_at', { nullable: true })
  secondFactorVerifiedAt: Date | null;

  /** Wrong codes entered in this session; the fifth ends it. */
  @Column({ name: 'failed_code_attempts', type: 'int' })
  failedCodeAttempts: number;

  @DateTimeColumn('created_at')
  createdAt: Date;

  /** The idle mark; written at most once a minute. */
  @DateTimeColumn('last_seen_at')
  lastSeenAt: Date;

  /** Absolute end: 5 minutes for a pending session, 12 hours otherwise. */
  @DateTimeColumn('expires_at')
  expiresAt: Date;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true })
  userAgent: string | null;
}
