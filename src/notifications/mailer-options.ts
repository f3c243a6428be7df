import type { MailerOptions } from '@nestjs-modules/mailer';
import { HandlebarsAdapter } from '@nestjs-modules/mailer/adapters/handlebars.adapter';
import { join } from 'node:path';

import { Environment } from '../../config/environment';
import { SECOND_MS } from '../common/time';
import { formatUtc } from './mail-format';

/**
 * Beside this file in the sources (ts-jest) and in dist, where nest-cli.json copies the
 * templates next to the compiled module.
 */
export const TEMPLATES_DIR = join(__dirname, 'templates');
export const LAYOUT_TEMPLATE = 'layout';

// One attempt may not hold its claim for long: a hung server counts as a failed attempt.
export const SEND_TIMEOUT_MS = 20 * SECOND_MS;
const SMTP_TIMEOUTS = {
  connectionTimeout: 10 * SECOND_MS,
  greetingTimeout: 10 * SECOND_MS,
  socketTimeout: 20 * SECOND_MS,
};

export const TEMPLATE_HELPERS = { utc: formatUtc };

/** SMTP from SMTP_URL; without it, nodemailer builds the message into a buffer for a file. */
export function mailerOptions(env: Environment): MailerOptions {
  return {
    transport: env.SMTP_URL
      ? smtpUrlWithTimeouts(env.SMTP_URL)
      : { streamTransport: true, buffer: true },
    defaults: { from: env.MAIL_FROM },
    sendTimeout: SEND_TIMEOUT_MS,
    template: {
      dir: TEMPLATES_DIR,
      // Inline styles are written by hand in the templates; no CSS inliner is needed.
      adapter: new HandlebarsAdapter(TEMPLATE_HELPERS, { inlineCssEnabled: false }),
    },
    options: { layout: LAYOUT_TEMPLATE },
  };
}

/**
 * nodemailer reads options from the URL's query; timeouts the operator did not set there get
 * ours, so a server that accepts the connection and then hangs cannot stall the sender.
 */
export function smtpUrlWithTimeouts(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  for (const [name, value] of Object.entries(SMTP_TIMEOUTS)) {
    if (!url.searchParams.has(name)) {
      url.searchParams.set(name, String(value));
    }
  }

  return url.toString();
}
