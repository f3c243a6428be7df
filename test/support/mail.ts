import { Logger } from '@nestjs/common';
import { DataSource, In } from 'typeorm';

import { MailOutbox } from '../../src/notifications/mail-outbox.entity';
import { MailSendCounts, MailSenderService } from '../../src/notifications/mail-sender.service';
import { TestApp } from './test-app';

/** Delivers what is due now, as the sender's poll would. */
export function flushMail(t: TestApp): Promise<MailSendCounts> {
  return t.get(MailSenderService).sendDue();
}

export function outboxRowsFor(t: TestApp, recipient: string): Promise<MailOutbox[]> {
  return t.dataSource
    .getRepository(MailOutbox)
    .find({ where: { recipient }, order: { id: 'ASC' } });
}

/** The outbox id in a Message-ID the sender wrote: `<outbox-<id>.<ms>@domain>`. */
export function outboxIdOf(messageId: string): number {
  const match = /^<?outbox-(\d+)\./.exec(messageId);
  if (!match) {
    throw new Error(`not an outbox Message-ID: ${messageId}`);
  }

  return Number(match[1]);
}

export async function payloadsByOutboxId(
  dataSource: DataSource,
  ids: number[],
): Promise<Map<number, Record<string, unknown>>> {
  const rows =
    ids.length === 0 ? [] : await dataSource.getRepository(MailOutbox).findBy({ id: In(ids) });

  return new Map(rows.map((row) => [row.id, JSON.parse(row.payload) as Record<string, unknown>]));
}

export interface LogLine {
  level: 'log' | 'warn' | 'error' | 'debug' | 'verbose' | 'fatal';
  args: unknown[];
  text: string;
}

/**
 * Records every line written through a Nest Logger (every class logs through one), so tests
 * can check what logs say and what they never say.
 */
export function captureLogs(): { lines: LogLine[]; restore: () => void } {
  const lines: LogLine[] = [];
  const levels = ['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const;
  const spies = levels.map((level) =>
    jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
      lines.push({ level, args, text: JSON.stringify(args) });
    }),
  );

  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}
