import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

import { Environment } from '../../config/environment';
import { AuditService } from '../audit/audit.service';
import { Client } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { DatabaseLock } from '../database/database-lock';
import { TransactionRunner } from '../database/transaction-runner';
import { UsersService } from './users.service';

export const BOOTSTRAP_LOCK = 'backoffice:bootstrap';
export const DEFAULT_ADMIN_EMAIL = 'admin@backoffice.local';

/**
 * On the first start against an empty database, creates a default client and its
 * administrator. Runs under a database lock and does nothing once any client exists, so
 * instances that start together create them once.
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapService.name);

  constructor(
    private readonly env: Environment,
    private readonly dataSource: DataSource,
    private readonly lock: DatabaseLock,
    private readonly transactions: TransactionRunner,
    private readonly clients: ClientsService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.lock.withLock(BOOTSTRAP_LOCK, () => this.bootstrapIfEmpty());
  }

  private async bootstrapIfEmpty(): Promise<void> {
    if ((await this.dataSource.getRepository(Client).count()) > 0) {
      return;
    }
    const email = this.env.BOOTSTRAP_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL;
    const generated = this.env.BOOTSTRAP_ADMIN_PASSWORD === undefined;
    const password = this.env.BOOTSTRAP_ADMIN_PASSWORD ?? randomBytes(18).toString('base64url');

    const admin = await this.transactions.run(async (manager) => {
      const client = await this.clients.create(
        { name: 'Default client', kind: 'standard' },
        manager,
      );
      await this.audit.recordClientCreated(client, 'bootstrap', manager);
      const user = await this.users.create(
        {
          clientId: client.id,
          email,
          name: 'Administrator',
          password,
          permissions: ['admin', 'user-management'],
        },
        manager,
      );
      await this.audit.recordUserCreated(user, 'bootstrap', manager);

      return user;
    });
    this.logger.log(
      { userId: admin.id, clientId: admin.clientId },
      'Created the first administrator',
    );
    if (generated) {
      // Once, to standard error and not into the structured log, so log shipping never holds it.
      process.stderr.write(
        `\nFirst start: administrator ${email} created with password: ${password}\n` +
          'Change it after the first login (POST /me/password).\n\n',
      );
    }
  }
}
