import { Column, Entity, PrimaryColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

/** Consecutive failed password checks per normalised email, whether or not the account exists. */
@Entity({ name: 'password_failures' })
export class PasswordFailure {
  @PrimaryColumn({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'int' })
  failures: number;

  @DateTimeColumn('locked_until', { nullable: true })
  lockedUntil: Date | null;

  @DateTimeColumn('updated_at')
  updatedAt: Date;
}
