import { simpleParser } from 'mailparser';
import { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

import { sleep } from './http';

export interface ArrivedMail {
  to: string;
  subject: string;
  messageId: string;
  text: string;
  at: number;
}

/**
 * An SMTP listener on loopback that the tests control: it records every accepted message,
 * can be stopped (connections refused) and started again on the same port, and can be made
 * slow to accept a message, so that a sender can be killed in the middle of a send.
 */
export class MailListener {
  readonly arrived: ArrivedMail[] = [];
  /** Milliseconds to wait before accepting each message. */
  acceptDelayMs = 0;
  private server?: SMTPServer;
  private port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) {
      return;
    }
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      disableReverseLookup: true,
      closeTimeout: 200,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then(async (parsed) => {
            if (this.acceptDelayMs > 0) {
              await sleep(this.acceptDelayMs);
            }
            this.arrived.push({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()).join(','),
              subject: parsed.subject ?? '',
              messageId: parsed.messageId ?? '',
              text: parsed.text ?? '',
              at: Date.now(),
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port and drops open connections: senders get refused until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Arrivals per Message-ID: the ones that came more than once. */
  duplicates(mails: ArrivedMail[] = this.arrived): string[] {
    const seen = new Map<string, number>();
    for (const mail of mails) {
      seen.set(mail.messageId, (seen.get(mail.messageId) ?? 0) + 1);
    }

    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  }

  distinct(mails: ArrivedMail[] = this.arrived): number {
    return new Set(mails.map((m) => m.messageId)).size;
  }

  /** Waits until `predicate` holds for the arrivals, or the time is up (then returns false). */
  async waitFor(
    predicate: (arrived: ArrivedMail[]) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.arrived)) {
      if (Date.now() > deadline) {
        return false;
      }
      await sleep(100);
    }

    return true;
  }
}
