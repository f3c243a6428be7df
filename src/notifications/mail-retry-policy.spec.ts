import { HOUR_MS, MINUTE_MS, addMs } from '../common/time';
import { RETRY_WINDOW_MS, nextAttemptAt, retryDelayMs } from './mail-retry-policy';

describe('mail retry policy', () => {
  const created = new Date('2026-03-02T09:00:00.000Z');

  it('doubles the wait from one minute and caps it at one hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(retryDelayMs)).toEqual([
      MINUTE_MS,
      2 * MINUTE_MS,
      4 * MINUTE_MS,
      8 * MINUTE_MS,
      16 * MINUTE_MS,
      32 * MINUTE_MS,
      HOUR_MS,
      HOUR_MS,
      HOUR_MS,
    ]);
  });

  it('schedules the next attempt after the wait for this failure', () => {
    const now = addMs(created, 10 * MINUTE_MS);

    expect(nextAttemptAt(created, 3, now)).toEqual(addMs(now, 4 * MINUTE_MS));
  });

  it('places the last attempt at the end of the 72-hour window, not after it', () => {
    const now = addMs(created, RETRY_WINDOW_MS - 10 * MINUTE_MS);

    expect(nextAttemptAt(created, 20, now)).toEqual(addMs(created, RETRY_WINDOW_MS));
  });

  it('gives up once 72 hours have passed since creation', () => {
    expect(nextAttemptAt(created, 40, addMs(created, RETRY_WINDOW_MS))).toBeNull();
    expect(nextAttemptAt(created, 1, addMs(created, RETRY_WINDOW_MS + 1))).toBeNull();
  });
});
