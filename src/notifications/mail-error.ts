/** What the sender keeps of a delivery error: never the server's text, which may quote the address. */
export interface MailErrorSummary {
  /** The server refused this message for good (a 5xx answer to the envelope or the data). */
  permanent: boolean;
  /** A short reason for `last_error`, e.g. `EENVELOPE 550 RCPT TO` or `ECONNECTION`. */
  reason: string;
}

// A 5xx answer to MAIL FROM, RCPT TO or DATA refuses this message; a 5xx at login (EAUTH) is
// our configuration and may be fixed, so it is retried like an outage.
const MESSAGE_ERRORS = new Set(['EENVELOPE', 'EMESSAGE']);

interface SmtpErrorFields {
  code?: unknown;
  responseCode?: unknown;
  command?: unknown;
}

export function summarizeMailError(error: unknown): MailErrorSummary {
  if (error instanceof PermanentMailError) {
    return { permanent: true, reason: error.reason };
  }
  const fields = (typeof error === 'object' && error !== null ? error : {}) as SmtpErrorFields;
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  const responseCode = typeof fields.responseCode === 'number' ? fields.responseCode : undefined;
  const command = typeof fields.command === 'string' ? fields.command : undefined;
  const permanent =
    code !== undefined &&
    MESSAGE_ERRORS.has(code) &&
    responseCode !== undefined &&
    responseCode >= 500 &&
    responseCode < 600;
  const name = error instanceof Error ? error.name : 'Error';
  const reason = [code ?? name, responseCode, command]
    .filter((part) => part !== undefined)
    .join(' ')
    .replace(/[^A-Za-z0-9 _.-]/g, '')
    .slice(0, 100);

  return { permanent, reason };
}

/** A mail that can never be built (unknown template, unreadable payload): retrying cannot help. */
export class PermanentMailError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PermanentMailError';
  }
}
