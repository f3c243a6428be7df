import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

import { DateTimeColumn } from '../database/columns';

export const PERMISSIONS = ['admin', 'user-management'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const permissionList = {
  to: (value: Permission[]): string => [...new Set(value)].sort().join(','),
  from: (value: string | null): Permission[] =>
    (value ?? '').split(',').filter((p): p is Permission => PERMISSIONS.includes(p as Permission)),
};

@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn()
  id: number;

  /** The home client. */
  @Column({ name: 'client_id', type: 'int' })
  clientId: number;

  /** Trimmed and lower-cased; unique in that form. */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  @Column({ type: 'varchar', length: 100, transformer: permissionList })
  permissions: Permission[];

  @Column({ type: 'boolean' })
  active: boolean;

  @Column({ name: 'two_factor_exempt', type: 'boolean' })
  twoFactorExempt: boolean;

  /** When the user must have 2FA active by; null while no deadline runs. */
  @DateTimeColumn('two_factor_deadline', { nullable: true })
  twoFactorDeadline: Date | null;

  @DateTimeColumn('created_at')
  createdAt: Date;

  @DateTimeColumn('updated_at')
  updatedAt: Date;
}

export function isAdministrator(user: Pick<User, 'permissions'>): boolean {
  return user.permissions.includes('admin') && user.permissions.includes('user-management');
}
