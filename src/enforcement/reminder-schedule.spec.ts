import { DAY_MS, HOUR_MS, addMs } from '../common/time';
import { dueReminderKinds } from './reminder-schedule';

describe('dueReminderKinds', () => {
  const now = new Date('2026-03-02T09:00:00.000Z');
  const deadlineIn = (ms: number): Date => addMs(now, ms);

  it('has nothing due more than three days before the deadline', () => {
    expect(dueReminderKinds(deadlineIn(3 * DAY_MS + 1), now)).toEqual([]);
  });

  it('has the 3-day reminder due from exactly three days before', () => {
    expect(dueReminderKinds(deadlineIn(3 * DAY_MS), now)).toEqual(['three-days']);
    expect(dueReminderKinds(deadlineIn(2 * DAY_MS), now)).toEqual(['three-days']);
  });

  it('has both due within the last day, so a missed 3-day reminder still goes out', () => {
    expect(dueReminderKinds(deadlineIn(20 * HOUR_MS), now)).toEqual(['three-days', 'one-day']);
    expect(dueReminderKinds(deadlineIn(DAY_MS), now)).toEqual(['three-days', 'one-day']);
  });

  it('has nothing due once the deadline is reached', () => {
    expect(dueReminderKinds(deadlineIn(0), now)).toEqual([]);
    expect(dueReminderKinds(deadlineIn(-HOUR_MS), now)).toEqual([]);
  });
});
