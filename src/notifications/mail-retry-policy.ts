import { HOUR_MS, MINUTE_MS, addMs } from '../common/time';

/** The first retry waits a minute; each further one waits twice as long, up to an hour. */
export const FIRST_RETRY_DELAY_MS = MINUTE_MS;
export const MAX_RETRY_DELAY_MS = HOUR_MS;
/** A mail is retried for 72 hours from its creation; then it is given up. */
export const RETRY_WINDOW_MS = 72 * HOUR_MS;

/** The wait after the `failures`-th failed attempt (1 for the first failure). */
export function retryDelayMs(failures: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^6 minutes already passes the cap; larger exponents only risk overflow.
  const delay = FIRST_RETRY_DELAY_MS * 2 ** Math.min(exponent, 16);

  return Math.min(delay, MAX_RETRY_DELAY_MS);
}

export function giveUpAt(createdAt: Date): Date {
  return addMs(createdAt, RETRY_WINDOW_MS);
}

/**
 * When to try again after a transient failure, or null when the retry window is over. The
 * last attempt falls exactly at the end of the window, so no mail is given up early.
 */
export function nextAttemptAt(createdAt: Date, failures: number, now: Date): Date | null {
  const end = giveUpAt(createdAt);
  if (now.getTime() >= end.getTime()) {
    return null;
  }
  const next = addMs(now, retryDelayMs(failures));

  return next.getTime() < end.getTime() ? next : end;
}
