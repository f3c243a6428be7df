import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

@Entity({ name: 'recovery_codes' })
export class RecoveryCode {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id', type: 'int' })
  userId: number;

  /** SHA-256 (hex) of the normalised code: upper case, no hyphens. */
  @Column({ name: 'code_hash', type: 'varchar', length: 64 })
  codeHash: string;

  @DateTimeColumn('used_at', { nullable: true })
  usedAt: Date | null;

  @DateTimeColumn('created_at')
  createdAt: Date;
}
