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

/**
 * `userState` as a SQL expression, so that the overview filters and counts in the database.
 * It reads `users` as `u` left-joined to `two_factor_credentials` as `c`, and compares the
 * deadline with the parameter `:now` (the application's clock, never the database's). The
 * first branch mirrors `isCredentialActive`. `user-state.spec.ts` checks both agree on
 * SQLite; the overview's end-to-end spec checks it on MySQL too.
 */
export const USER_STATE_SQL = `(CASE
  WHEN c.secret_ciphertext IS NOT NULL AND c.secret_ciphertext <> ''
    AND c.activated_at IS NOT NULL THEN 'active'
  WHEN u.two_factor_exempt = 1 THEN 'exempt'
  WHEN u.two_factor_deadline IS NULL THEN 'inactive'
  WHEN u.two_factor_deadline <= :now THEN 'overdue'
  ELSE 'pending'
END)`;
