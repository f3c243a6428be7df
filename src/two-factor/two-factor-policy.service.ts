import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

import { Environment } from '../../config/environment';
import { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { DAY_MS, addMs } from '../common/time';
import { User } from '../users/user.entity';
import { TwoFactorFacts, isTwoFactorRequired } from './two-factor-policy';

/** Writes the deadlines that the 2FA rules call for. */
@Injectable()
export class TwoFactorPolicyService {
  readonly gracePeriodMs: number;

  constructor(
    private readonly clock: Clock,
    env: Environment,
  ) {
    this.gracePeriodMs = env.TWO_FACTOR_GRACE_DAYS * DAY_MS;
  }

  /**
   * At login or client switch: a required user without a deadline gets one, that instant plus
   * the grace period. `now` is the instant the caller's notice counts days from, so a fresh
   * deadline shows the whole grace period. A concurrent login that set it first wins;
   * `facts.user` is updated.
   */
  async ensureDeadline(
    manager: EntityManager,
    userId: number,
    facts: TwoFactorFacts,
    now: Date,
  ): Promise<void> {
    if (!isTwoFactorRequired(facts) || facts.user.twoFactorDeadline) {
      return;
    }
    const deadline = addMs(now, this.gracePeriodMs);
    await manager
      .createQueryBuilder()
      .update(User)
      .set({ twoFactorDeadline: deadline })
      .where('id = :userId AND two_factor_deadline IS NULL', { userId })
      .execute();
    const stored = await manager.findOneByOrFail(User, { id: userId });
    facts.user.twoFactorDeadline = stored.twoFactorDeadline;
  }

  /**
   * After a user loses active 2FA: if still required, they must set it up at once (deadline
   * now); the grace period is only for users who never had 2FA. A group client's user counts
   * as required when a member requires 2FA, so that switching there grants no new grace.
   */
  async holdToSetupIfRequired(
    manager: EntityManager,
    userId: number,
    facts: TwoFactorFacts,
  ): Promise<void> {
    const after = { ...facts, active: false };
    if (!isTwoFactorRequired(after) && !(await this.isRequiredByMember(manager, after))) {
      return;
    }
    await manager.update(User, { id: userId }, { twoFactorDeadline: this.clock.now() });
  }

  async clearDeadline(manager: EntityManager, userId: number): Promise<void> {
    await manager.update(User, { id: userId }, { twoFactorDeadline: null });
  }

  private async isRequiredByMember(
    manager: EntityManager,
    facts: TwoFactorFacts,
  ): Promise<boolean> {
    if (facts.homeClient.kind !== 'group') {
      return false;
    }
    const member = await manager.findOneBy(Client, {
      groupId: facts.homeClient.id,
      requireTwoFactor: true,
    });

    return member !== null && isTwoFactorRequired({ ...facts, activeClient: member });
  }
}
