import { DAY_MS, addMs } from '../common/time';
import type { ReminderKind } from '../notifications/deadline-reminder.entity';

/** The reminders before a deadline, earliest first. */
export const REMINDERS: readonly { kind: ReminderKind; beforeMs: number }[] = [
  { kind: 'three-days', beforeMs: 3 * DAY_MS },
  { kind: 'one-day', beforeMs: DAY_MS },
];

/** How far ahead a deadline can be and still have a reminder due. */
export const REMINDER_HORIZON_MS = Math.max(...REMINDERS.map((reminder) => reminder.beforeMs));

/**
 * The reminders due for a deadline at `now`: their point has been reached and the deadline
 * has not. A reminder whose point passed unseen is still due, so a user 20 hours before the
 * deadline who never got the 3-day reminder is due both.
 */
export function dueReminderKinds(deadline: Date, now: Date): ReminderKind[] {
  if (deadline.getTime() <= now.getTime()) {
    return [];
  }

  return REMINDERS.filter(
    (reminder) => addMs(deadline, -reminder.beforeMs).getTime() <= now.getTime(),
  ).map((reminder) => reminder.kind);
}
