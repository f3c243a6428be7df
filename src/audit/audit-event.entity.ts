import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

@Entity({ name: 'audit_events' })
export class AuditEvent {
  @PrimaryGeneratedColumn()
  id: number;

  @DateTimeColumn('created_at')
  createdAt: Date;

  @Column({ type: 'varchar', length: 64 })
  event: string;

  @Column({ name: 'actor_user_id', type: 'int', nullable: true })
  actorUserId: number | null;

  @Column({ name: 'target_user_id', type: 'int', nullable: true })
  targetUserId: number | null;

  @Column({ name: 'client_id', type: 'int', nullable: true })
  clientId: number | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  /** JSON of non-secret facts (for example a channel or a reason). */
  @Column({ type: 'varchar', length: 1000, nullable: true })
  details: string | null;
}
