import type { User } from '../users/user.entity';

export const USER_STATES = ['active', 'exempt', 'overdue', 'pending', 'inactive'] as const;
export type UserState = (typeof USER_STATES)[number];

/**
 * The one 2FA state of a user in the administrators' overview, first match wins: 2FA active;
 * exempt; deadline passed (overdue); deadline set and not passed (pending); none of these.
 */
export function userState(
  user: Pick<User, 'twoFactorExempt' | 'twoFactorDeadline'>,
  twoFactorActive: boolean,
  now: Date,
): UserState {
  if (twoFactorActive) {
    return 'active';
  }
  if (user.twoFactorExempt) {
    return 'exempt';
  }
  if (user.twoFactorDeadline) {
    return user.twoFactorDeadline.getTime() <= now.getTime() ? 'overdue' : 'pending';
  }

  return 'inactive';
}
