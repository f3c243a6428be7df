import { MailOutboxService } from '../notifications/mail-outbox.service';
import { MailSenderService } from '../notifications/mail-sender.service';
import { CliCommand } from './cli-command';

export const sendMailCommand: CliCommand = {
  name: 'mail:send',
  description: 'Deliver the mail that is due now, once',
  options: {},
  async run(app, _options, out) {
    const counts = await app.get(MailSenderService).sendDue();
    const { backlog, failed } = await app.get(MailOutboxService).stats();
    out(
      `mail: ${counts.sent} sent, ${counts.retried} to retry, ${counts.failed} failed, ` +
        `${counts.released} released; ${backlog} waiting, ${failed} failed in all`,
    );
  },
};

export const requeueFailedMailCommand: CliCommand = {
  name: 'mail:requeue-failed',
  description: 'Put failed mail back in the queue, due now, with a new 72-hour retry window',
  options: {},
  async run(app, _options, out) {
    const requeued = await app.get(MailOutboxService).requeueFailed();
    out(`${requeued} failed mails requeued`);
  },
};
