import { AddressInfo, Server, connect } from 'node:net';

import { TestApp, createTestApp } from './support/test-app';

// The raw answer to bytes written on a fresh connection: status and the parsed JSON body.
function rawExchange(port: number, bytes: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      try {
        resolve({ status, body: JSON.parse(rest.join('\r\n\r\n')) });
      } catch {
        resolve({ status, body: rest.join('\r\n\r\n') });
      }
    });
    socket.write(bytes);
  });
}

describe('requests the HTTP parser refuses', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp();
    const server = t.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it('answers a URL past the 16 kB header limit with 431 in the error shape', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/health?x=${'q'.repeat(20_000)}`);

    expect(answer.status).toBe(431);
    expect(await answer.json()).toEqual({
      statusCode: 431,
      error: 'headers_too_large',
      message: 'The request line and headers are larger than 16 kB',
    });
  });

  it('answers headers past the limit with 431 in the error shape', async () => {
    const answer = await rawExchange(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    );

    expect(answer.status).toBe(431);
    expect(answer.body).toMatchObject({ statusCode: 431, error: 'headers_too_large' });
  });

  it('reads a JSON content type without a body (no Content-Length) as an empty body, not as 415', async () => {
    const answer = await rawExchange(
      port,
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n',
    );

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      statusCode: 400,
      error: 'validation_failed',
      message: 'email: is required; password: is required',
    });
  });

  it('answers bytes that are not HTTP with 400 malformed_request in the error shape', async () => {
    const answer = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      statusCode: 400,
      error: 'malformed_request',
      message: 'The request is not valid HTTP',
    });
  });

  it('still serves the next request normally', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/health`);

    expect(answer.status).toBe(200);
  });
});
