import { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients, as RCPT TO named them. */
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** The `X-` headers and the rest, lower-cased names. */
  headers: Map<string, unknown>;
}

/**
 * A real SMTP server on 127.0.0.1 for tests: it collects every message it accepts, parsed.
 * `stop()` and `start()` again keep the port, to play an outage; `refuse(address)` answers a
 * permanent 550 for that recipient.
 */
export class SmtpListener {
  readonly received: ReceivedMail[] = [];
  private server: SMTPServer | null = null;
  private port = 0;
  private readonly refused = new Set<string>();

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
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
      closeTimeout: 500,
      onRcptTo: (address, _session, callback) => {
        if (this.refused.has(address.address.toLowerCase())) {
          callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));

          return;
        }
        callback();
      },
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (parsed) => {
            this.received.push({
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              messageId: parsed.messageId ?? '',
              headers: parsed.headers,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port: connections are refused until `start()`. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      return;
    }
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  refuse(address: string): void {
    this.refused.add(address.toLowerCase());
  }

  /** Messages that went to `address`. */
  to(address: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to.includes(address.toLowerCase()));
  }
}

export async function startSmtpListener(): Promise<SmtpListener> {
  const listener = new SmtpListener();
  await listener.start();

  return listener;
}
