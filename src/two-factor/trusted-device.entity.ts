import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

@Entity({ name: 'trusted_devices' })
export class TrustedDevice {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id', type: 'int' })
  userId: number;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash: string;

  @Column({ name: 'user_agent', type: 'varchar', length: 255, nullable: true })
  userAgent: string | null;

  @DateTimeColumn('created_at')
  createdAt: Date;

  @DateTimeColumn('last_used_at', { nullable: true })
  lastUsedAt: Date | null;

  /** Absolute: created plus TRUSTED_DEVICE_DAYS; use does not extend it. */
  @DateTimeColumn('expires_at')
  expiresAt: Date;
}
