import { PermanentMailError, summarizeMailError } from './mail-error';

function smtpError(fields: Record<string, unknown>): Error {
  return Object.assign(
    new Error('Recipient command failed: 550 5.1.1 <ada@example.com> unknown'),
    fields,
  );
}

describe('summarizeMailError', () => {
  it('treats a 5xx answer to RCPT TO as a permanent refusal', () => {
    const summary = summarizeMailError(
      smtpError({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO' }),
    );

    expect(summary).toEqual({ permanent: true, reason: 'EENVELOPE 550 RCPT TO' });
  });

  it('treats a 4xx answer as temporary', () => {
    const summary = summarizeMailError(
      smtpError({ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }),
    );

    expect(summary.permanent).toBe(false);
  });

  it('retries a refused login, which is a configuration problem, not this message', () => {
    expect(summarizeMailError(smtpError({ code: 'EAUTH', responseCode: 535 })).permanent).toBe(
      false,
    );
  });

  it('retries connection failures', () => {
    expect(summarizeMailError(smtpError({ code: 'ECONNECTION' }))).toEqual({
      permanent: false,
      reason: 'ECONNECTION',
    });
  });

  it('never keeps the server text, which may quote the address', () => {
    const summary = summarizeMailError(
      smtpError({ code: 'EMESSAGE', responseCode: 554, command: 'DATA' }),
    );

    expect(summary.reason).not.toContain('@');
    expect(summary.reason).toBe('EMESSAGE 554 DATA');
  });

  it('marks a mail that cannot be built as permanent', () => {
    expect(summarizeMailError(new PermanentMailError('unknown template'))).toEqual({
      permanent: true,
      reason: 'unknown template',
    });
  });
});
