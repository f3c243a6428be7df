import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

export type ReminderKind = 'three-days' | 'one-day';

/** One row per reminder ever sent; unique on user, deadline and kind. */
@Entity({ name: 'deadline_reminders' })
export class DeadlineReminder {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'user_id', type: 'int' })
  userId: number;

  @DateTimeColumn('deadline')
  deadline: Date;

  @Column({ type: 'varchar', length: 16 })
  kind: ReminderKind;

  @DateTimeColumn('created_at')
  createdAt: Date;
}
