import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

export const CLIENT_KINDS = ['standard', 'group', 'small'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

@Entity({ name: 'clients' })
export class Client {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  kind: ClientKind;

  /** The group client this standard client belongs to, if any. */
  @Column({ name: 'group_id', type: 'int', nullable: true })
  groupId: number | null;

  @Column({ name: 'require_two_factor', type: 'boolean' })
  requireTwoFactor: boolean;

  @DateTimeColumn('created_at')
  createdAt: Date;

  @DateTimeColumn('updated_at')
  updatedAt: Date;
}
