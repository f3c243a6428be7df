import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { CommonException } from '../common/common.exception';
import { TransactionRunner, affectedRows } from '../database/transaction-runner';
import { PasswordHasher } from './password-hasher';
import { Permission, User } from './user.entity';
import { UsersException } from './users.exception';

export interface CreateUserInput {
  clientId: number;
  email: string;
  name: string;
  password: string;
  permissions: Permission[];
}

/** Emails are compared trimmed and lower-cased; they are unique in that form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly hasher: PasswordHasher,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  async getByIdOrThrow(id: number): Promise<User> {
    const user = await this.findById(id);
    if (!user) {
      throw CommonException.notFound('User');
    }

    return user;
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email: normalizeEmail(email) });
  }

  count(): Promise<number> {
    return this.users.count();
  }

  /**
   * Creates a user; the password is hashed before the transaction starts. `onCreated` runs
   * in the same transaction (an audit record, say).
   */
  async create(
    input: CreateUserInput,
    manager?: EntityManager,
    onCreated?: (tx: EntityManager, user: User) => Promise<void>,
  ): Promise<User> {
    const passwordHash = await this.hasher.hash(input.password);
    const email = normalizeEmail(input.email);
    const work = async (tx: EntityManager): Promise<User> => {
      if (await tx.existsBy(User, { email })) {
        throw UsersException.emailTaken();
      }
      const now = this.clock.now();
      const user = await tx.save(
        tx.create(User, {
          clientId: input.clientId,
          email,
          name: input.name.trim(),
          passwordHash,
          permissions: input.permissions,
          active: true,
          twoFactorExempt: false,
          twoFactorDeadline: null,
          createdAt: now,
          updatedAt: now,
        }),
      );
      await onCreated?.(tx, user);

      return user;
    };

    try {
      return await (manager ? work(manager) : this.transactions.run(work));
    } catch (error) {
      // Two creations raced past the existence check; the unique index decided.
      if (error instanceof QueryFailedError && /unique|duplicate/i.test(error.message)) {
        throw UsersException.emailTaken();
      }
      throw error;
    }
  }

  /**
   * Replaces the password hash only if it is still the one the caller checked: of two changes
   * racing from two sessions, the second finds another hash and changes nothing.
   */
  async replacePasswordHash(
    manager: EntityManager,
    userId: number,
    checkedHash: string,
    passwordHash: string,
  ): Promise<boolean> {
    const result = await manager
      .createQueryBuilder()
      .update(User)
      .set({ passwordHash, updatedAt: this.clock.now() })
      .where('id = :userId AND password_hash = :checkedHash', { userId, checkedHash })
      .execute();

    return affectedRows(result) === 1;
  }

  async setPasswordHash(
    manager: EntityManager,
    userId: number,
    passwordHash: string,
  ): Promise<void> {
    await manager.update(User, { id: userId }, { passwordHash, updatedAt: this.clock.now() });
  }

  /** Administrators of a client: active users holding both admin permissions. */
  async countAdministrators(manager: EntityManager, clientId: number): Promise<number> {
    const users = await manager.find(User, { where: { clientId, active: true } });

    return users.filter(
      (u) => u.permissions.includes('admin') && u.permissions.includes('user-management'),
    ).length;
  }
}
