import { userAgent } from './request-context';

// Node hands header values over as Latin-1: each byte one character.
const sent = (bytes: Buffer) => ({ headers: { 'user-agent': bytes.toString('latin1') } });

describe('userAgent', () => {
  it('decodes a User-Agent sent in UTF-8', () => {
    expect(userAgent(sent(Buffer.from('Gerät von Zoë ✓', 'utf8')))).toBe('Gerät von Zoë ✓');
  });

  it('keeps bytes that are not UTF-8 as Latin-1', () => {
    expect(userAgent(sent(Buffer.from([0x47, 0x65, 0x72, 0xe4, 0x74])))).toBe('Gerät');
  });

  it('cuts at 255 characters without splitting one', () => {
    const agent = userAgent(sent(Buffer.from('😀'.repeat(300), 'utf8')));

    expect([...(agent ?? '')]).toHaveLength(255);
    expect(agent).toBe('😀'.repeat(255));
  });

  it('is null without the header', () => {
    expect(userAgent({ headers: {} })).toBeNull();
  });
});
