import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';

import { AuditService } from '../audit/audit.service';
import { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { Clock } from '../common/clock';
import { CommonException } from '../common/common.exception';
import { Principal } from '../common/request-context';
import { TransactionRunner } from '../database/transaction-runner';
import { SessionsService } from '../sessions/sessions.service';
import {
  TwoFactorCredential,
  isCredentialActive,
} from '../two-factor/two-factor-credential.entity';
import { TwoFactorException } from '../two-factor/two-factor.exception';
import { TrustedDevicesService } from '../two-factor/trusted-devices.service';
import { TwoFactorService } from '../two-factor/two-factor.service';
import { Permission, User, isAdministrator } from '../users/user.entity';
import { UsersException } from '../users/users.exception';
import { UsersService } from '../users/users.service';
import { AdminUserDto } from './dto/admin-user.dto';
import { userState } from './user-state';

export interface UserChanges {
  twoFactorExempt?: boolean;
  name?: string;
  permissions?: Permission[];
  active?: boolean;
}

/**
 * Administrators manage the users of their reach: their home client and, for a group
 * client, its members. A user outside the reach is answered as if it did not exist.
 */
@Injectable()
export class AdminUsersService {
  private readonly logger = new Logger(AdminUsersService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly clients: ClientsService,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly twoFactor: TwoFactorService,
    private readonly trustedDevices: TrustedDevicesService,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  /** The client ids an administrator acts on, narrowed to `clientId` when given. */
  async reach(principal: Principal, clientId?: number): Promise<number[]> {
    const ids = await this.clients.findReachableIds(principal.homeClient);
    if (clientId === undefined) {
      return ids;
    }
    if (!ids.includes(clientId)) {
      throw CommonException.notFound('Client');
    }

    return [clientId];
  }

  async getUserInReachOrThrow(principal: Principal, userId: number): Promise<User> {
    const ids = await this.reach(principal);
    const user = await this.dataSource
      .getRepository(User)
      .findOneBy({ id: userId, clientId: In(ids) });
    if (!user) {
      // Answered as if the user did not exist; an id of another tenant may be a probe.
      this.logger.warn(
        { userId: principal.user.id, clientId: principal.homeClient.id, requestedUserId: userId },
        'Administrator asked for a user out of reach',
      );
      throw CommonException.notFound('User');
    }

    return user;
  }

  async getClientInReachOrThrow(principal: Principal, clientId: number): Promise<Client> {
    await this.reach(principal, clientId);

    return this.clients.getByIdOrThrow(clientId);
  }

  async create(
    principal: Principal,
    input: {
      email: string;
      name: string;
      password: string;
      permissions: Permission[];
      clientId?: number;
    },
    ip: string | null,
  ): Promise<AdminUserDto> {
    const client = await this.getClientInReachOrThrow(
      principal,
      input.clientId ?? principal.homeClient.id,
    );
    const user = await this.users.create(
      { ...input, clientId: client.id },
      undefined,
      (tx, created) =>
        this.audit.record(
          {
            event: 'user.created',
            actorUserId: principal.user.id,
            targetUserId: created.id,
            clientId: client.id,
            ip,
            details: { permissions: created.permissions.join(',') },
          },
          tx,
        ),
    );

    return this.describe(user, false);
  }

  async update(
    principal: Principal,
    userId: number,
    changes: UserChanges,
    ip: string | null,
  ): Promise<AdminUserDto> {
    const target = await this.getUserInReachOrThrow(principal, userId);
    if (changes.twoFactorExempt !== undefined && target.id === principal.user.id) {
      this.logger.warn(
        { userId: principal.user.id, clientId: principal.homeClient.id },
        'Administrator tried to change their own 2FA exemption',
      );
      throw UsersException.cannotChangeOwnExemption();
    }

    const updated = await this.transactions.run(async (tx) => {
      const current = await tx.findOneByOrFail(User, { id: target.id });
      const next = {
        ...current,
        name: changes.name ?? current.name,
        permissions: changes.permissions ?? current.permissions,
        active: changes.active ?? current.active,
        twoFactorExempt: changes.twoFactorExempt ?? current.twoFactorExempt,
      };
      const losesAdministrator =
        isAdministrator(current) && current.active && !(isAdministrator(next) && next.active);
      if (losesAdministrator && (await this.otherAdministrators(tx, current)) === 0) {
        throw UsersException.lastAdministrator();
      }
      // Exempting a user ends their deadline; one who becomes required again gets a new
      // one at the next login.
      const twoFactorDeadline =
        next.twoFactorExempt && !current.twoFactorExempt ? null : current.twoFactorDeadline;
      await tx.update(
        User,
        { id: current.id },
        {
          name: next.name,
          permissions: next.permissions,
          active: next.active,
          twoFactorExempt: next.twoFactorExempt,
          twoFactorDeadline,
          updatedAt: this.clock.now(),
        },
      );
      // A deactivated account keeps nothing that logs in: its sessions end and its trusted
      // devices go, so a later reactivation starts with the code step again.
      if (current.active && !next.active) {
        await this.sessions.endAllForUser(tx, current.id);
        await this.trustedDevices.revokeAll(tx, current.id);
      }
      const context = {
        actorUserId: principal.user.id,
        targetUserId: current.id,
        clientId: current.clientId,
        ip,
      };
      const changed = changedFields(current, next);
      if (Object.keys(changed).length > 0) {
        await this.audit.record({ event: 'user.updated', ...context, details: changed }, tx);
      }
      if (current.twoFactorExempt !== next.twoFactorExempt) {
        await this.audit.record(
          {
            event: 'user.exemption_changed',
            ...context,
            details: {
              exempt: next.twoFactorExempt,
              deadlineCleared: current.twoFactorDeadline !== null && twoFactorDeadline === null,
            },
          },
          tx,
        );
      }

      return tx.findOneByOrFail(User, { id: current.id });
    });
    if (target.twoFactorExempt !== updated.twoFactorExempt) {
      this.logger.warn(
        {
          userId: principal.user.id,
          clientId: principal.homeClient.id,
          targetUserId: updated.id,
          exempt: updated.twoFactorExempt,
        },
        'Administrator changed a 2FA exemption',
      );
    }

    return this.describe(updated, await this.isTwoFactorActive(updated.id));
  }

  /**
   * Deactivates a user's 2FA for them (lost phone): 2FA, trusted devices, recovery codes and
   * sessions go and the user is emailed. Administrators use My User for their own.
   */
  async resetTwoFactor(principal: Principal, userId: number, ip: string | null): Promise<void> {
    const target = await this.getUserInReachOrThrow(principal, userId);
    const actor = { userId: principal.user.id, clientId: principal.homeClient.id };
    if (target.id === principal.user.id) {
      this.logger.warn(actor, 'Administrator tried to reset their own 2FA');
      throw TwoFactorException.cannotDeactivateOwn();
    }
    const home = await this.clients.getByIdOrThrow(target.clientId);

    await this.twoFactor.resetForUser(target, home, { ...actor, ip });
    this.logger.warn(
      { ...actor, targetUserId: target.id, targetClientId: target.clientId },
      '2FA reset by an administrator',
    );
  }

  describe(user: User, twoFactorActive: boolean): AdminUserDto {
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      clientId: user.clientId,
      state: userState(user, twoFactorActive, this.clock.now()),
      deadline: user.twoFactorDeadline?.toISOString() ?? null,
      active: user.active,
      permissions: user.permissions,
      twoFactorExempt: user.twoFactorExempt,
      twoFactorActive,
      createdAt: user.createdAt.toISOString(),
    };
  }

  private async isTwoFactorActive(userId: number): Promise<boolean> {
    const credential = await this.dataSource
      .getRepository(TwoFactorCredential)
      .findOneBy({ userId });

    return isCredentialActive(credential);
  }

  // Other active administrators of the user's client. On MySQL their rows are locked, so two
  // administrators demoting each other at once cannot both pass this check.
  private async otherAdministrators(tx: EntityManager, user: User): Promise<number> {
    const rows = await tx.find(User, {
      where: { clientId: user.clientId, active: true },
      ...(this.transactions.isSqlite ? {} : { lock: { mode: 'pessimistic_write' as const } }),
    });

    return rows.filter((row) => row.id !== user.id && isAdministrator(row)).length;
  }
}

function changedFields(before: User, after: Omit<User, never>) {
  const details: Record<string, string | boolean> = {};
  if (before.name !== after.name) {
    details.name = true;
  }
  const permissions = [...after.permissions].sort().join(',');
  if ([...before.permissions].sort().join(',') !== permissions) {
    details.permissions = permissions;
  }
  if (before.active !== after.active) {
    details.active = after.active;
  }

  return details;
}
