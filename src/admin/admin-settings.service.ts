import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';

import { AuditService } from '../audit/audit.service';
import { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { Clock } from '../common/clock';
import { DAY_MS } from '../common/time';
import { Principal } from '../common/request-context';
import { TransactionRunner } from '../database/transaction-runner';
import { offersTwoFactor } from '../two-factor/two-factor-policy';
import { TwoFactorPolicyService } from '../two-factor/two-factor-policy.service';
import { TwoFactorException } from '../two-factor/two-factor.exception';
import { User } from '../users/user.entity';
import { ClientSettingsDto } from './dto/admin-settings.dto';

/**
 * The settings of the administrator's home client: whether it requires 2FA. Deadlines are
 * only ever cleared here; a required user gets one at the next login or client switch.
 */
@Injectable()
export class AdminSettingsService {
  private readonly logger = new Logger(AdminSettingsService.name);

  constructor(
    private readonly clients: ClientsService,
    private readonly policy: TwoFactorPolicyService,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  async get(principal: Principal): Promise<ClientSettingsDto> {
    return this.describe(await this.clients.getByIdOrThrow(principal.homeClient.id));
  }

  /**
   * Turning the requirement off clears the open deadlines of the users it no longer applies
   * to; a user who becomes required again gets a new deadline at the next login.
   */
  async update(
    principal: Principal,
    changes: { requireTwoFactor: boolean },
    ip: string | null,
  ): Promise<ClientSettingsDto> {
    const clientId = principal.homeClient.id;

    const { updated, changed } = await this.transactions.run(async (tx) => {
      const current = await tx.findOneByOrFail(Client, { id: clientId });
      if (changes.requireTwoFactor && !offersTwoFactor(current)) {
        throw TwoFactorException.unavailableForClient();
      }
      const now = this.clock.now();
      const changed = current.requireTwoFactor !== changes.requireTwoFactor;
      if (changed) {
        await tx.update(
          Client,
          { id: clientId },
          { requireTwoFactor: changes.requireTwoFactor, updatedAt: now },
        );
      }
      // Also when it was off already: a login that raced the last change may have left one.
      const deadlinesCleared = changes.requireTwoFactor
        ? 0
        : await this.clearDeadlinesNoLongerRequired(tx, current, now);
      if (changed || deadlinesCleared > 0) {
        await this.audit.record(
          {
            event: 'settings.changed',
            actorUserId: principal.user.id,
            clientId,
            ip,
            details: { requireTwoFactor: changes.requireTwoFactor, deadlinesCleared },
          },
          tx,
        );
      }

      return { updated: await tx.findOneByOrFail(Client, { id: clientId }), changed };
    });
    if (changed) {
      const fields = { userId: principal.user.id, clientId };
      if (updated.requireTwoFactor) {
        this.logger.log(fields, '2FA required for the client');
      } else {
        // Lifting a requirement weakens the client's protection: a security event.
        this.logger.warn(fields, '2FA requirement of the client lifted');
      }
    }

    return this.describe(updated);
  }

  // A user's deadline goes when no client they can act in still requires 2FA: their home
  // client, or for a group client's users also its members. The users of the changed client
  // are checked, and when it is a member, the users of its group. A user still required by a
  // member keeps the deadline, which applies whenever they act there.
  private async clearDeadlinesNoLongerRequired(
    tx: EntityManager,
    changed: Client,
    now: Date,
  ): Promise<number> {
    const homeIds: number[] = [];
    for (const homeId of [changed.id, ...(changed.groupId ? [changed.groupId] : [])]) {
      if (!(await this.isRequiredAnywhere(tx, homeId))) {
        homeIds.push(homeId);
      }
    }
    if (homeIds.length === 0) {
      return 0;
    }
    const cleared = await tx
      .createQueryBuilder()
      .update(User)
      .set({ twoFactorDeadline: null, updatedAt: now })
      .where({ clientId: In(homeIds) })
      .andWhere('two_factor_deadline IS NOT NULL')
      .execute();

    return cleared.affected ?? 0;
  }

  private async isRequiredAnywhere(tx: EntityManager, homeId: number): Promise<boolean> {
    const home = await tx.findOneByOrFail(Client, { id: homeId });
    if (home.requireTwoFactor) {
      return true;
    }

    if (home.kind !== 'group') {
      return false;
    }

    return tx.existsBy(Client, { groupId: home.id, requireTwoFactor: true });
  }

  private describe(client: Client): ClientSettingsDto {
    return {
      clientId: client.id,
      requireTwoFactor: client.requireTwoFactor,
      gracePeriodDays: this.policy.gracePeriodMs / DAY_MS,
      twoFactorAvailable: offersTwoFactor(client),
    };
  }
}
