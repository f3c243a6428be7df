import { AsyncLocalStorage } from 'node:async_hooks';
import * as mysql from 'mysql2';

export const DATABASE_TIMEOUT_CODES = ['DB_ACQUIRE_TIMEOUT', 'DB_QUERY_TIMEOUT'] as const;
type DatabaseTimeoutCode = (typeof DATABASE_TIMEOUT_CODES)[number];

/** The database did not answer in time; the filter answers 503 database_unavailable. */
export class DatabaseTimeoutError extends Error {
  readonly fatal = true;

  constructor(
    readonly code: DatabaseTimeoutCode,
    message: string,
  ) {
    super(message);
    this.name = 'DatabaseTimeoutError';
  }
}

export interface DatabaseDeadlines {
  /** Longest wait for a connection from the pool, a new connection's handshake included. */
  acquireMs: number;
  /** Longest wait for one statement's answer (null: none); past it the connection goes. */
  queryMs: number | null;
}

const unbounded = new AsyncLocalStorage<true>();

/**
 * Runs `work` without the statement deadline: for migrations, whose DDL may run long on a
 * large table. Waiting for a connection stays bounded.
 */
export function withoutQueryDeadline<T>(work: () => Promise<T>): Promise<T> {
  return unbounded.run(true, work);
}

/**
 * mysql2 for TypeORM's `driver` option, with deadlines on its pools. mysql2 waits for ever
 * when the server stops answering but keeps its sockets open (a frozen or partitioned
 * server): a statement never returns and every later request queues for a connection. Here
 * a pool hands out a connection within `acquireMs` or fails, and a statement that gets no
 * answer within `queryMs` fails and takes its connection out of the pool (destroyed, so no
 * later statement queues behind the lost one, and the server rolls back its transaction).
 */
export function mysqlWithDeadlines(deadlines: DatabaseDeadlines): typeof mysql {
  // mysql2 exports getters, so the override is defined on an object that inherits the rest.
  return Object.create(mysql, {
    createPool: {
      enumerable: true,
      value: (options: mysql.PoolOptions) => boundPool(mysql.createPool(options), deadlines),
    },
  }) as typeof mysql;
}

/**
 * Calls `onExpired` once `ms` have passed, unless cancelled first. The timer fires in the
 * loop's timers phase, but its verdict waits for the check phase of the same turn, after the
 * poll phase has handed over whatever answers arrived meanwhile: a process that was starved of
 * CPU past the deadline does not take an answer sitting in its socket for a lost one.
 */
function deadline(ms: number, onExpired: () => void): () => void {
  let cancelled = false;
  const timer = setTimeout(() => {
    setImmediate(() => {
      if (!cancelled) {
        onExpired();
      }
    });
  }, ms);

  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

type ConnectionCallback = (
  error: NodeJS.ErrnoException | null,
  connection: mysql.PoolConnection,
) => void;
type Callback = (error: unknown, ...results: unknown[]) => void;

const BOUND = Symbol('query deadline');

function boundPool(pool: mysql.Pool, deadlines: DatabaseDeadlines): mysql.Pool {
  const getConnection = pool.getConnection.bind(pool);

  pool.getConnection = (callback: ConnectionCallback): void => {
    let settled = false;
    const cancel = deadline(deadlines.acquireMs, () => {
      settled = true;
      callback(
        new DatabaseTimeoutError(
          'DB_ACQUIRE_TIMEOUT',
          `No database connection within ${deadlines.acquireMs} ms`,
        ),
        undefined as unknown as mysql.PoolConnection,
      );
    });

    getConnection((error, connection) => {
      if (settled) {
        // The caller has given up: a connection that arrives late goes back to the pool.
        connection?.release();

        return;
      }
      settled = true;
      cancel();
      if (error) {
        callback(error, connection);

        return;
      }
      callback(
        null,
        deadlines.queryMs === null ? connection : boundQueries(connection, deadlines.queryMs),
      );
    });
  };

  return pool;
}

function boundQueries(connection: mysql.PoolConnection, queryMs: number): mysql.PoolConnection {
  const marked = connection as mysql.PoolConnection & { [BOUND]?: true };
  if (marked[BOUND]) {
    return connection;
  }
  marked[BOUND] = true;
  const query = connection.query.bind(connection) as (...args: unknown[]) => unknown;

  (connection as unknown as { query: (...args: unknown[]) => unknown }).query = (
    ...args: unknown[]
  ) => {
    const last = args.length - 1;
    if (unbounded.getStore() || typeof args[last] !== 'function') {
      return query(...args);
    }
    const callback = args[last] as Callback;
    let settled = false;
    const cancel = deadline(queryMs, () => {
      settled = true;
      // The answer may never come, and mysql2 would queue every later statement behind it.
      connection.destroy();
      (connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
      callback(
        new DatabaseTimeoutError(
          'DB_QUERY_TIMEOUT',
          `No answer from the database in ${queryMs} ms`,
        ),
      );
    });
    args[last] = (error: unknown, ...results: unknown[]) => {
      if (settled) {
        return;
      }
      settled = true;
      cancel();
      callback(error, ...results);
    };

    return query(...args);
  };

  return connection;
}
