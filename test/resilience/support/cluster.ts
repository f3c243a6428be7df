import { randomBytes } from 'node:crypto';

import { HttpAnswer, HttpRequest } from './http';
import { MailListener } from './mail-listener';
import { TestDatabase, mariadb } from './mariadb';
import { ServiceInstance, freePort } from './instance';

export const ADMIN_EMAIL = 'admin@resilience.test';
export const ADMIN_PASSWORD = 'resilience admin password';

export interface ClusterOptions {
  /** How many instances (3 unless told otherwise). */
  instances?: number;
  /** Variables for every instance, on top of the suite's defaults. */
  env?: Record<string, string>;
  /** Start an SMTP listener and point SMTP_URL at it (default true). */
  smtp?: boolean;
  /** Prefix of the database name. */
  database?: string;
}

/**
 * Several processes of the built service behind no balancer, on one fresh MariaDB database
 * and one SMTP listener, with the same encryption keys, as a deployment of several
 * instances would run.
 */
export class Cluster {
  readonly instances: ServiceInstance[] = [];
  readonly mail = new MailListener();
  db: TestDatabase;
  private next = 0;

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster();
    try {
      await cluster.boot(options);
    } catch (error) {
      await cluster.stop();
      throw error;
    }

    return cluster;
  }

  private async boot(options: ClusterOptions): Promise<void> {
    await mariadb.start();
    this.db = await mariadb.createDatabase(options.database ?? 'bo_resilience');
    if (options.smtp !== false) {
      await this.mail.start();
    }
    const key = randomBytes(32).toString('base64');
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      DB_URL: this.db.url,
      TWO_FACTOR_ENCRYPTION_KEYS: `k1:${key}`,
      LOG_LEVEL: 'warn',
      JOBS_ENABLED: 'false',
      LOGIN_RATE_LIMIT: '100000',
      BOOTSTRAP_ADMIN_EMAIL: ADMIN_EMAIL,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...(options.smtp !== false ? { SMTP_URL: this.mail.url } : {}),
      ...options.env,
    };
    const count = options.instances ?? 3;
    for (let i = 0; i < count; i++) {
      this.instances.push(new ServiceInstance(`instance-${i + 1}`, await freePort(), env));
    }
    // Together, as a rolling deployment would: migrations and bootstrap take database locks.
    await Promise.all(this.instances.map((instance) => instance.start()));
  }

  /** The instances in turn, as a round-robin balancer would pick them. */
  pick(): ServiceInstance {
    const instance = this.instances[this.next % this.instances.length];
    this.next += 1;

    return instance;
  }

  request(request: HttpRequest): Promise<HttpAnswer> {
    return this.pick().request(request);
  }

  async stop(): Promise<void> {
    // The logs go with the instances' folders: show what went wrong before they do.
    const errors = this.errorLogLines();
    if (errors.length > 0) {
      process.stdout.write(
        `${errors.length} lines at error level in the instances' logs (expected ones too), the first:\n` +
          errors
            .slice(0, 5)
            .map((line) => `  ${JSON.stringify(line).slice(0, 600)}\n`)
            .join(''),
      );
    }
    await Promise.all(this.instances.map((instance) => instance.dispose()));
    await this.mail.stop();
    if (this.db) {
      await this.db.drop().catch(() => undefined);
    }
  }

  /** Log lines at error level or above across the instances (pino levels: 50 and 60). */
  errorLogLines(): Record<string, unknown>[] {
    return this.instances.flatMap((instance) =>
      instance.logLines().filter((line) => Number(line.level) >= 50),
    );
  }
}
