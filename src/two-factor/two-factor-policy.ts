import type { Client } from '../clients/client.entity';
import type { Principal, SessionStage } from '../common/request-context';
import { DAY_MS } from '../common/time';
import type { Session } from '../sessions/session.entity';
import type { User } from '../users/user.entity';

/** What the 2FA rules look at for one user in one session. */
export interface TwoFactorFacts {
  user: Pick<User, 'twoFactorExempt' | 'twoFactorDeadline'>;
  homeClient: Pick<Client, 'id' | 'kind' | 'requireTwoFactor'>;
  activeClient: Pick<Client, 'id' | 'kind' | 'requireTwoFactor'>;
  /** The user has confirmed 2FA (an active secret). */
  active: boolean;
}

/** The facts of a resolved caller. */
export function factsOf(principal: Principal): TwoFactorFacts {
  return {
    user: principal.user,
    homeClient: principal.homeClient,
    activeClient: principal.activeClient,
    active: principal.twoFactorActive,
  };
}

export type LoginNotice =
  | { kind: 'two-factor-required'; deadline: string; daysLeft: number }
  | { kind: 'two-factor-recommended' }
  | null;

/** Small clients use a reduced interface in which 2FA is not offered. */
export function offersTwoFactor(client: Pick<Client, 'kind'>): boolean {
  return client.kind !== 'small';
}

/**
 * A user must set up 2FA when their home client requires it (a cross-client user also when
 * the active member client does), they are not exempt, their client offers 2FA, and they
 * have none active yet.
 */
export function isTwoFactorRequired(facts: TwoFactorFacts): boolean {
  const { user, homeClient, activeClient } = facts;
  if (facts.active || user.twoFactorExempt || !offersTwoFactor(homeClient)) {
    return false;
  }
  const activeMemberRequires =
    homeClient.kind === 'group' &&
    activeClient.id !== homeClient.id &&
    activeClient.requireTwoFactor;

  return homeClient.requireTwoFactor || activeMemberRequires;
}

/** Whether a cross-client user is outside the group client, where 2FA is not managed. */
export function isOutsideGroupClient(facts: Pick<TwoFactorFacts, 'homeClient' | 'activeClient'>) {
  return facts.homeClient.kind === 'group' && facts.activeClient.id !== facts.homeClient.id;
}

/** The stage of a backoffice session, derived from facts on every request. */
export function deriveStage(
  session: Pick<Session, 'secondFactorVerifiedAt'>,
  facts: TwoFactorFacts,
  now: Date,
): SessionStage {
  if (facts.active && offersTwoFactor(facts.homeClient) && !session.secondFactorVerifiedAt) {
    return 'two-factor-required';
  }
  const deadline = facts.user.twoFactorDeadline;
  if (isTwoFactorRequired(facts) && deadline && deadline.getTime() <= now.getTime()) {
    return 'two-factor-setup-required';
  }

  return 'authenticated';
}

/** Whole days left until the deadline, rounded up; 0 once it has passed. */
export function daysLeft(deadline: Date, now: Date): number {
  return Math.max(0, Math.ceil((deadline.getTime() - now.getTime()) / DAY_MS));
}

/** The notice a login answer carries. */
export function loginNotice(facts: TwoFactorFacts, now: Date): LoginNotice {
  const deadline = facts.user.twoFactorDeadline;
  if (isTwoFactorRequired(facts) && deadline) {
    return {
      kind: 'two-factor-required',
      deadline: deadline.toISOString(),
      daysLeft: daysLeft(deadline, now),
    };
  }
  if (facts.user.twoFactorExempt && !facts.active && offersTwoFactor(facts.homeClient)) {
    return { kind: 'two-factor-recommended' };
  }

  return null;
}
