import { MailerModule } from '@nestjs-modules/mailer';
import { Module } from '@nestjs/common';

import { Environment } from '../../config/environment';
import { MailDeliveryService } from './mail-delivery.service';
import { MailOutboxService } from './mail-outbox.service';
import { MailSenderService } from './mail-sender.service';
import { mailerOptions } from './mailer-options';

/** Mail: the outbox other modules write into, and the sender that delivers it. */
@Module({
  imports: [
    MailerModule.forRootAsync({
      inject: [Environment],
      useFactory: (env: Environment) => mailerOptions(env),
    }),
  ],
  providers: [MailOutboxService, MailDeliveryService, MailSenderService],
  exports: [MailOutboxService, MailSenderService],
})
export class NotificationsModule {}
