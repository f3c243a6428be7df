import { Column, Entity, PrimaryColumn } from 'typeorm';

import { DateTimeColumn } from './columns';

/** A named lease that lets one instance run a job per tick. */
@Entity({ name: 'job_leases' })
export class JobLease {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  holder: string | null;

  @DateTimeColumn('expires_at')
  expiresAt: Date;
}
