import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

export const MAIL_TEMPLATES = [
  'two-factor-activated',
  'two-factor-deactivated',
  'two-factor-reset-by-admin',
  'recovery-code-used',
  'two-factor-locked',
  'deadline-reminder',
] as const;
export type MailTemplate = (typeof MAIL_TEMPLATES)[number];

export type MailStatus = 'pending' | 'sent' | 'failed';

/** A mail written in the same transaction as the change it reports; a sender delivers it. */
@Entity({ name: 'mail_outbox' })
export class MailOutbox {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 64 })
  template: MailTemplate;

  @Column({ type: 'varchar', length: 254 })
  recipient: string;

  /** JSON of the template's variables. */
  @Column({ type: 'text' })
  payload: string;

  @Column({ type: 'varchar', length: 16 })
  status: MailStatus;

  @Column({ type: 'int' })
  attempts: number;

  @DateTimeColumn('next_attempt_at')
  nextAttemptAt: Date;

  @Column({ name: 'claim_token', type: 'varchar', length: 64, nullable: true })
  claimToken: string | null;

  @DateTimeColumn('claim_expires_at', { nullable: true })
  claimExpiresAt: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @DateTimeColumn('created_at')
  createdAt: Date;

  @DateTimeColumn('sent_at', { nullable: true })
  sentAt: Date | null;
}
