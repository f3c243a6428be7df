import * as mysql from 'mysql2';
import { AddressInfo, Server as NetServer, Socket, createServer } from 'node:net';

import { DatabaseTimeoutError, mysqlWithDeadlines, withoutQueryDeadline } from './mysql-deadlines';

interface FakeServer {
  port: number;
  /** false: queries get no answer at all, as from a server frozen by SIGSTOP. */
  answering: boolean;
  /** Milliseconds before each answer. */
  delayMs: number;
  close: () => void;
}

// A MySQL server that shakes hands with anyone and answers every query with OK, late or
// never as told: what a frozen or partitioned server looks like to the client.
async function fakeServer(): Promise<FakeServer> {
  const server = mysql.createServer((connection) => {
    // Every OK ends an exchange (the handshake's too): the client's next packet is number 0.
    const writeOk = connection.writeOk.bind(connection);
    connection.writeOk = (args?: unknown) => {
      writeOk(args as never);
      connection.sequenceId = 0;
    };
    connection.serverHandshake({
      protocolVersion: 10,
      serverVersion: '10.11.0-fake',
      connectionId: 1,
      statusFlags: 2,
      characterSet: 8,
      capabilityFlags: 0xffffff,
    });
    connection.on('query', () => {
      if (!fake.answering) {
        return;
      }
      setTimeout(() => {
        connection.sequenceId = 1;
        connection.writeOk({ affectedRows: 1 });
      }, fake.delayMs);
    });
    connection.on('error', () => undefined);
  });
  // mysql2's Server wraps a net.Server; its typings name neither the host nor the callback.
  const net = (server as unknown as { _server: NetServer })._server;
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  const fake: FakeServer = {
    port: (net.address() as AddressInfo).port,
    answering: true,
    delayMs: 0,
    close: () => net.close(),
  };

  return fake;
}

function query(pool: mysql.Pool, sql: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    pool.getConnection((error, connection) => {
      if (error) {
        reject(error);

        return;
      }
      connection.query(sql, (queryError: Error | null, rows: unknown) => {
        connection.release();
        if (queryError) {
          reject(queryError);
        } else {
          resolve(rows);
        }
      });
    });
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; error?: unknown }> {
  const started = Date.now();
  try {
    await work();

    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describe('mysqlWithDeadlines', () => {
  const driver = mysqlWithDeadlines({ acquireMs: 300, queryMs: 300 });
  let closers: (() => void)[] = [];

  afterEach(() => {
    closers.forEach((close) => close());
    closers = [];
  });

  function poolFor(port: number, options: mysql.PoolOptions = {}): mysql.Pool {
    const pool = driver.createPool({
      host: '127.0.0.1',
      port,
      user: 'u',
      password: 'p',
      connectTimeout: 10_000,
      connectionLimit: 2,
      ...options,
    });
    closers.push(() => pool.end(() => undefined));

    return pool;
  }

  it('fails a statement the server never answers within the deadline, and drops its connection', async () => {
    const server = await fakeServer();
    closers.push(server.close);
    const pool = poolFor(server.port);
    await query(pool, 'SELECT 1');

    server.answering = false;
    const frozen = await timed(() => query(pool, 'SELECT 1'));

    expect(frozen.error).toBeInstanceOf(DatabaseTimeoutError);
    expect((frozen.error as DatabaseTimeoutError).code).toBe('DB_QUERY_TIMEOUT');
    expect(frozen.ms).toBeLessThan(1_000);
    // The lost statement took its connection along: the next one gets a fresh connection.
    server.answering = true;
    await expect(query(pool, 'SELECT 1')).resolves.toMatchObject({ affectedRows: 1 });
  });

  it('fails the wait for a connection when the server accepts the socket but never greets', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      sockets.forEach((socket) => socket.destroy());
      silent.close();
    });
    const pool = poolFor((silent.address() as AddressInfo).port);

    const waits = await Promise.all([1, 2, 3, 4].map(() => timed(() => query(pool, 'SELECT 1'))));

    for (const wait of waits) {
      expect((wait.error as DatabaseTimeoutError).code).toBe('DB_ACQUIRE_TIMEOUT');
      expect(wait.ms).toBeLessThan(1_000);
    }
  });

  it('takes an answer that arrived while the process was too busy to read it', async () => {
    const server = await fakeServer();
    closers.push(server.close);
    const pool = poolFor(server.port);
    await query(pool, 'SELECT 1');
    server.delayMs = 50;

    const answer = query(pool, 'SELECT 1');
    // Starved of CPU past the deadline: the answer comes in meanwhile and waits to be read.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const busyUntil = Date.now() + 600;
    while (Date.now() < busyUntil) {
      // busy
    }

    await expect(answer).resolves.toMatchObject({ affectedRows: 1 });
  });

  it('lets migrations run statements past the deadline', async () => {
    const server = await fakeServer();
    closers.push(server.close);
    const pool = poolFor(server.port);
    server.delayMs = 600;

    const bounded = await timed(() => query(pool, 'SELECT 1'));
    const unbounded = withoutQueryDeadline(() => query(pool, 'SELECT 1'));

    expect((bounded.error as DatabaseTimeoutError).code).toBe('DB_QUERY_TIMEOUT');
    await expect(unbounded).resolves.toMatchObject({ affectedRows: 1 });
  });

  it('has no statement deadline for the migration tools', async () => {
    const server = await fakeServer();
    closers.push(server.close);
    const pool = mysqlWithDeadlines({ acquireMs: 300, queryMs: null }).createPool({
      host: '127.0.0.1',
      port: server.port,
      user: 'u',
      password: 'p',
    });
    closers.push(() => pool.end(() => undefined));
    server.delayMs = 600;

    await expect(query(pool, 'SELECT 1')).resolves.toMatchObject({ affectedRows: 1 });
  });
});
