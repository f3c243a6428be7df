import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock';
import { MINUTE_MS } from '../common/time';
import { JobLeaseService } from '../database/job-lease.service';
import { SessionsService } from '../sessions/sessions.service';
import { TrustedDevicesService } from '../two-factor/trusted-devices.service';
import { TwoFactorService } from '../two-factor/two-factor.service';
import { DeadlineRemindersService, ReminderCounts } from './deadline-reminders.service';

export const ENFORCEMENT_LEASE = 'enforcement';
// Shorter than the hourly tick, so a crashed holder never costs more than one tick; longer
// than any run, so a slow run is not joined by a second one.
export const ENFORCEMENT_LEASE_MS = 55 * MINUTE_MS;

export interface EnforcementCounts {
  reminders: ReminderCounts;
  sessionsRemoved: number;
  setupsCleared: number;
  trustedDevicesRemoved: number;
  /** Steps that failed; the others still ran. */
  errors: number;
}

export type EnforcementOutcome = { ran: false } | { ran: true; counts: EnforcementCounts };

/**
 * One enforcement tick: deadline reminders, then removal of expired sessions, setups and
 * trusted devices. A lease row in the database lets one instance run it at a time.
 */
@Injectable()
export class EnforcementService {
  private readonly logger = new Logger(EnforcementService.name);

  constructor(
    private readonly leases: JobLeaseService,
    private readonly reminders: DeadlineRemindersService,
    private readonly sessions: SessionsService,
    private readonly trustedDevices: TrustedDevicesService,
    private readonly twoFactor: TwoFactorService,
    private readonly clock: Clock,
  ) {}

  async run(): Promise<EnforcementOutcome> {
    const lease = await this.leases.tryAcquire(ENFORCEMENT_LEASE, ENFORCEMENT_LEASE_MS);
    if (!lease) {
      this.logger.log('Enforcement skipped: another instance holds the lease');

      return { ran: false };
    }

    try {
      const now = this.clock.now();
      this.logger.log({ at: now.toISOString() }, 'Enforcement started');
      const counts = await this.runSteps(now);
      this.logger.log(counts, 'Enforcement finished');

      return { ran: true, counts };
    } finally {
      await this.leases.release(ENFORCEMENT_LEASE, lease);
    }
  }

  // Each step stands alone: one that fails is logged and counted, and the others still run.
  private async runSteps(now: Date): Promise<EnforcementCounts> {
    let errors = 0;
    const step = async <T>(name: string, work: () => Promise<T>, fallback: T): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        errors += 1;
        this.logger.error(
          { step: name, error: error instanceof Error ? error.name : 'Error' },
          'Enforcement step failed',
        );

        return fallback;
      }
    };

    const reminders = await step('reminders', () => this.reminders.sendDue(now), {
      usersChecked: 0,
      sent: 0,
      skipped: 0,
      errors: 0,
      capped: false,
    });
    const sessionsRemoved = await step('sessions', () => this.sessions.deleteExpired(now), 0);
    const setupsCleared = await step('setups', () => this.twoFactor.clearExpiredSetups(now), 0);
    const trustedDevicesRemoved = await step(
      'trusted-devices',
      () => this.trustedDevices.deleteExpired(now),
      0,
    );

    return { reminders, sessionsRemoved, setupsCleared, trustedDevicesRemoved, errors };
  }
}
