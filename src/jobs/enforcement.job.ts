import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';

import { EnforcementService } from '../enforcement/enforcement.service';

/** At minute 0 of every hour, UTC. */
export const ENFORCEMENT_CRON = CronExpression.EVERY_HOUR;
export const ENFORCEMENT_CRON_NAME = 'enforcement';

/** The hourly trigger of the enforcement tick; the work and its lease live in the service. */
@Injectable()
export class EnforcementJob implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EnforcementJob.name);
  private running: Promise<void> | null = null;

  constructor(private readonly enforcement: EnforcementService) {}

  @Cron(ENFORCEMENT_CRON, { name: ENFORCEMENT_CRON_NAME, timeZone: 'UTC', waitForCompletion: true })
  async handleEnforcementTick(): Promise<void> {
    this.running = this.tick();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  // A tick in progress finishes before the database closes (it releases its lease).
  async beforeApplicationShutdown(): Promise<void> {
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      await this.enforcement.run();
    } catch (error) {
      this.logger.error(
        { error: error instanceof Error ? error.name : 'Error' },
        'Enforcement tick failed; the next tick tries again',
      );
    }
  }
}
