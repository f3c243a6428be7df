import { MailerService } from '@nestjs-modules/mailer';
import { Injectable } from '@nestjs/common';
import Handlebars from 'handlebars';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { Environment } from '../../config/environment';
import { Clock } from '../common/clock';
import { PermanentMailError } from './mail-error';
import { MAIL_TEMPLATES, MailOutbox, MailTemplate } from './mail-outbox.entity';
import { TEMPLATES_DIR, TEMPLATE_HELPERS } from './mailer-options';

export const MAIL_SUBJECTS: Record<MailTemplate, string> = {
  'two-factor-activated': 'Two-factor authentication is on',
  'two-factor-deactivated': 'Two-factor authentication is off',
  'two-factor-reset-by-admin': 'Your two-factor authentication was reset',
  'recovery-code-used': 'A recovery code was used for your account',
  'two-factor-locked': 'Code entry for your account is locked',
  'deadline-reminder': 'Reminder: set up two-factor authentication',
};

export const MAIL_FOLDER = 'mail';

type Context = Record<string, unknown>;

/**
 * Turns one outbox row into a sent message: the HTML through the mailer's handlebars adapter,
 * the text part from `<template>.text.hbs`. With SMTP_URL the mailer sends it; without, the
 * built message is written to `DATA_DIR/mail/<id>-<template>.eml`.
 */
@Injectable()
export class MailDeliveryService {
  readonly transport: 'smtp' | 'files';
  private readonly mailDir: string;
  private readonly senderDomain: string;
  // Text templates run without HTML escaping, in their own handlebars environment.
  private readonly text = Handlebars.create();
  private readonly textTemplates = new Map<MailTemplate, Handlebars.TemplateDelegate>();

  constructor(
    private readonly mailer: MailerService,
    private readonly clock: Clock,
    env: Environment,
  ) {
    this.transport = env.SMTP_URL ? 'smtp' : 'files';
    this.mailDir = join(resolve(env.DATA_DIR), MAIL_FOLDER);
    this.senderDomain = /@([A-Za-z0-9.-]+)/.exec(env.MAIL_FROM)?.[1] ?? 'backoffice.local';
    this.text.registerHelper(TEMPLATE_HELPERS);
  }

  async deliver(mail: MailOutbox): Promise<void> {
    const template = this.knownTemplate(mail.template);
    const context = this.parsePayload(mail.payload);
    const text = await this.renderText(template, context);

    const info = (await this.mailer.sendMail({
      to: mail.recipient,
      subject: MAIL_SUBJECTS[template],
      template,
      context,
      text,
      date: this.clock.now(),
      // The same id on a resend after a crash lets mail clients fold the duplicate away.
      messageId: `<outbox-${mail.id}.${mail.createdAt.getTime()}@${this.senderDomain}>`,
    })) as { message?: unknown };

    if (this.transport === 'files') {
      if (!Buffer.isBuffer(info.message)) {
        throw new Error('The file transport returned no message');
      }
      await this.writeFile(`${mail.id}-${template}.eml`, info.message);
    }
  }

  private knownTemplate(name: string): MailTemplate {
    if (!(MAIL_TEMPLATES as readonly string[]).includes(name)) {
      throw new PermanentMailError('unknown template');
    }

    return name as MailTemplate;
  }

  private parsePayload(payload: string): Context {
    try {
      const parsed: unknown = JSON.parse(payload);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return parsed as Context;
      }
    } catch {
      // Falls through to the permanent error below.
    }

    throw new PermanentMailError('unreadable payload');
  }

  private async renderText(template: MailTemplate, context: Context): Promise<string> {
    let compiled = this.textTemplates.get(template);
    if (!compiled) {
      const source = await readFile(join(TEMPLATES_DIR, `${template}.text.hbs`), 'utf8');
      compiled = this.text.compile(source, { noEscape: true, strict: true });
      this.textTemplates.set(template, compiled);
    }
    try {
      return compiled(context);
    } catch {
      // Strict mode: the payload lacks a variable the template uses.
      throw new PermanentMailError('payload does not fit the template');
    }
  }

  // Written under a temporary name and renamed, so a reader never sees half a message.
  private async writeFile(name: string, content: Buffer): Promise<void> {
    await mkdir(this.mailDir, { recursive: true });
    const target = join(this.mailDir, name);
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, content, { mode: 0o600 });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
