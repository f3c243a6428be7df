import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { Statements } from '../database/statements';
import { TransactionRunner } from '../database/transaction-runner';
import { Client } from '../clients/client.entity';
import { User } from '../users/user.entity';
import { AuditEvent } from './audit-event.entity';

export type AuditEventName =
  | 'login.succeeded'
  | 'login.failed'
  | 'login.locked'
  | 'login.refused_locked'
  | 'app_login.refused_locked'
  | 'login.trusted_device_used'
  | 'app_login.succeeded'
  | 'app_login.failed'
  | 'logout'
  | 'password.changed'
  | 'password.recheck_failed'
  | 'password.recheck_refused_locked'
  | 'two_factor.setup_started'
  | 'two_factor.activated'
  | 'two_factor.deactivated'
  | 'two_factor.reset_by_admin'
  | 'two_factor.reset_by_operator'
  | 'two_factor.code_succeeded'
  | 'two_factor.code_failed'
  | 'two_factor.locked'
  | 'two_factor.session_ended'
  | 'two_factor.recovery_code_used'
  | 'two_factor.recovery_codes_renewed'
  | 'trusted_device.added'
  | 'trusted_device.revoked'
  | 'client.created'
  | 'client.switched'
  | 'settings.changed'
  | 'user.created'
  | 'user.updated'
  | 'user.exemption_changed';

/** Who created a record when no user did. */
export type OperatorOrigin = 'cli' | 'bootstrap' | 'demo:seed';

export interface AuditEntry {
  event: AuditEventName;
  actorUserId?: number | null;
  targetUserId?: number | null;
  clientId?: number | null;
  ip?: string | null;
  /** Non-secret facts only: never codes, secrets, tokens, passwords or emails. */
  details?: Record<string, string | number | boolean | null>;
}

@Injectable()
export class AuditService {
  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly transactions: TransactionRunner,
    private readonly statements: Statements,
    private readonly clock: Clock,
  ) {}

  /** Records an event; with a manager, inside that transaction. */
  async record(entry: AuditEntry, manager?: EntityManager): Promise<void> {
    if (!manager) {
      return this.transactions.run((tx) => this.record(entry, tx));
    }
    await this.statements.insert(manager, AuditEvent, {
      createdAt: this.clock.now(),
      event: entry.event,
      actorUserId: entry.actorUserId ?? null,
      targetUserId: entry.targetUserId ?? null,
      clientId: entry.clientId ?? null,
      ip: entry.ip ?? null,
      details: entry.details ? JSON.stringify(entry.details).slice(0, 1000) : null,
    });
  }

  /** A client created without an actor: by the command line, the first start or the demo. */
  recordClientCreated(client: Client, by: OperatorOrigin, manager: EntityManager): Promise<void> {
    return this.record(
      {
        event: 'client.created',
        clientId: client.id,
        details: { by, kind: client.kind, groupId: client.groupId },
      },
      manager,
    );
  }

  /** A user created without an actor (administrators' creations name them as the actor). */
  recordUserCreated(user: User, by: OperatorOrigin, manager: EntityManager): Promise<void> {
    return this.record(
      {
        event: 'user.created',
        targetUserId: user.id,
        clientId: user.clientId,
        details: { by, permissions: user.permissions.join(',') },
      },
      manager,
    );
  }

  /** A page of events of the given clients, newest first. */
  async findPage(
    clientIds: number[],
    filter: { userId?: number; page: number; pageSize: number },
  ): Promise<{ items: AuditEvent[]; total: number }> {
    const where = filter.userId
      ? [
          { clientId: In(clientIds), targetUserId: filter.userId },
          { clientId: In(clientIds), actorUserId: filter.userId },
        ]
      : { clientId: In(clientIds) };
    const [items, total] = await this.events.findAndCount({
      where,
      order: { id: 'DESC' },
      skip: (filter.page - 1) * filter.pageSize,
      take: filter.pageSize,
    });

    return { items, total };
  }
}
