import { Writable } from 'node:stream';

import { DEFAULT_PASSWORD, bearer, createClient, createUser } from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

interface AccessLine {
  level: number;
  msg: string;
  req?: { id: string; method: string; url: string; headers: Record<string, string> };
  res?: { statusCode: number };
}

/** The application's log lines, parsed, as a deployment's log collector would read them. */
class LogLines extends Writable {
  readonly lines: AccessLine[] = [];
  text = '';

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.lines.push(JSON.parse(line) as AccessLine);
    }
    done();
  }

  answer(requestId: string): AccessLine | undefined {
    return this.lines.find((line) => line.req?.id === requestId && line.res);
  }
}

describe('the access log', () => {
  let t: TestApp;
  const logs = new LogLines();

  beforeAll(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'info' }, logDestination: logs });
  });
  afterAll(() => t.close());

  it('writes a line for every answer, also those refused before any route', async () => {
    const refused = [
      t.http.post('/auth/login').set('Content-Type', 'text/plain').send('x'),
      t.http.post('/auth/login').set('Content-Type', 'application/json').send('{"email"'),
      t.http
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ email: 'x'.repeat(200 * 1024) })),
      t.http.get('/me'),
    ];
    const answers = [];
    for (const call of refused) {
      answers.push(await call.set('X-Request-Id', `probe-${answers.length}`));
    }

    expect(answers.map((answer) => answer.status)).toEqual([415, 400, 413, 401]);
    expect(answers.map((answer, index) => logs.answer(`probe-${index}`)?.res?.statusCode)).toEqual([
      415, 400, 413, 401,
    ]);
    expect(logs.answer('probe-0')).toMatchObject({
      msg: 'request completed',
      req: { method: 'POST', url: '/auth/login' },
    });
  });

  it('logs neither credentials, bodies, queries nor addresses', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const login = await t.http
      .post('/auth/login')
      .set('X-Request-Id', 'probe-login')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    const token = (login.body as { sessionToken: string }).sessionToken;
    await t.http
      .get('/me?secret=query-value')
      .set(bearer(token))
      .set('X-Forwarded-For', '203.0.113.7')
      .set('X-Api-Key', 'key-value')
      .set('User-Agent', 'probe agent')
      .set('X-Request-Id', 'probe-me');

    expect(logs.answer('probe-login')?.res?.statusCode).toBe(200);
    expect(logs.answer('probe-me')?.req).toEqual({
      id: 'probe-me',
      method: 'GET',
      url: '/me',
      headers: { 'user-agent': 'probe agent', authorization: '[redacted]' },
    });
    for (const secret of [
      DEFAULT_PASSWORD,
      token,
      'query-value',
      user.email,
      '203.0.113.7',
      'key-value',
    ]) {
      expect(logs.text).not.toContain(secret);
    }
  });
});
