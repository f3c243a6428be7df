import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';

import { Environment } from '../../config/environment';
import { SECOND_MS } from '../common/time';
import { MAX_MAILS_PER_RUN, MailSenderService } from '../notifications/mail-sender.service';

/**
 * Polls the outbox every MAIL_POLL_SECONDS and delivers what is due. The next poll is
 * scheduled only after the previous one ends, so polls never overlap in one instance.
 */
@Injectable()
export class MailSenderJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(MailSenderJob.name);
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly sender: MailSenderService,
    env: Environment,
  ) {
    this.intervalMs = env.MAIL_POLL_SECONDS * SECOND_MS;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  // Before the database closes (TypeORM closes it on application shutdown): stop polling,
  // let the mail being sent finish, and give back the claims not yet tried.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.handleMailPoll().finally(() => {
        this.inFlight = null;
      });
    }, delayMs);
  }

  private async handleMailPoll(): Promise<void> {
    let busy = false;
    try {
      const counts = await this.sender.sendDue({ shouldStop: () => this.stopping });
      const handled = counts.sent + counts.retried + counts.failed;
      if (handled + counts.released > 0) {
        this.logger.log(counts, 'Mail poll done');
      }
      // A full run means more may be waiting: look again at once.
      busy = handled >= MAX_MAILS_PER_RUN;
    } catch (error) {
      this.logger.error(
        { error: error instanceof Error ? error.name : 'Error' },
        'Mail poll failed; the next poll tries again',
      );
    }
    this.schedule(busy ? 0 : this.intervalMs);
  }
}
