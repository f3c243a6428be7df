import type { INestApplicationContext } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';

import { Environment } from '../../config/environment';
import { AuditService } from '../audit/audit.service';
import { ClientKind } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../common/dto-rules';
import { DatabaseLock } from '../database/database-lock';
import { TransactionRunner } from '../database/transaction-runner';
import { Permission, User } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import { CliCommand, CliUsageError, stringOption } from './cli-command';

export const DEMO_SEED_LOCK = 'backoffice:demo-seed';
/** One published password for every demo account, so the README's curl lines just work. */
export const DEMO_PASSWORD = 'demo password 2026';

const ADMINISTRATOR: Permission[] = ['admin', 'user-management'];

interface DemoUserPlan {
  email: string;
  name: string;
  admin?: boolean;
}

interface DemoClientPlan {
  name: string;
  kind: ClientKind;
  /** The name of the group client this client is a member of. */
  memberOf?: string;
  requireTwoFactor?: boolean;
  users: DemoUserPlan[];
}

/**
 * A group with two members (one requiring 2FA, so a switch into it starts a deadline), a
 * standalone standard client and a small client; an administrator and a few users in each.
 */
export const DEMO_PLAN: readonly DemoClientPlan[] = [
  {
    name: 'Harbour Group',
    kind: 'group',
    users: [
      { email: 'admin.group@demo.example', name: 'Grace Hall', admin: true },
      { email: 'cross@demo.example', name: 'Casey Cross' },
      { email: 'dana.group@demo.example', name: 'Dana Berg' },
    ],
  },
  {
    name: 'Harbour North',
    kind: 'standard',
    memberOf: 'Harbour Group',
    requireTwoFactor: true,
    users: [
      { email: 'admin.north@demo.example', name: 'Nora Lind', admin: true },
      { email: 'erik.north@demo.example', name: 'Erik Holm' },
      { email: 'fiona.north@demo.example', name: 'Fiona Reed' },
    ],
  },
  {
    name: 'Harbour South',
    kind: 'standard',
    memberOf: 'Harbour Group',
    users: [
      { email: 'admin.south@demo.example', name: 'Sam Ortiz', admin: true },
      { email: 'gus.south@demo.example', name: 'Gus Moreau' },
      { email: 'hana.south@demo.example', name: 'Hana Ito' },
    ],
  },
  {
    name: 'Lakeside Hotel',
    kind: 'standard',
    users: [
      { email: 'admin.lakeside@demo.example', name: 'Lena Park', admin: true },
      { email: 'ivan.lakeside@demo.example', name: 'Ivan Novak' },
      { email: 'jana.lakeside@demo.example', name: 'Jana Kral' },
    ],
  },
  {
    name: 'Corner Kiosk',
    kind: 'small',
    users: [
      { email: 'admin.kiosk@demo.example', name: 'Kai Brandt', admin: true },
      { email: 'kim.kiosk@demo.example', name: 'Kim Weber' },
      { email: 'leo.kiosk@demo.example', name: 'Leo Sousa' },
    ],
  },
];

export interface SeededUser {
  id: number;
  email: string;
  name: string;
  admin: boolean;
}

export interface SeededClient {
  id: number;
  name: string;
  kind: ClientKind;
  groupId: number | null;
  requireTwoFactor: boolean;
  users: SeededUser[];
}

/**
 * Creates the demo set in one transaction, under a database lock, or refuses when any demo
 * account exists already: a second run changes nothing.
 */
export async function seedDemo(
  app: INestApplicationContext,
  password: string,
): Promise<SeededClient[]> {
  const emails = DEMO_PLAN.flatMap((client) => client.users.map((user) => user.email));

  return app.get(DatabaseLock).withLock(DEMO_SEED_LOCK, async () => {
    const existing = await app
      .get(DataSource)
      .getRepository(User)
      .findOne({ where: { email: In(emails) }, order: { id: 'ASC' } });
    if (existing) {
      throw new CliUsageError(
        `The demo data is already there (${existing.email} exists); nothing was changed. ` +
          'Use a fresh database (another DATA_DIR or DB_URL) for a new demo.',
      );
    }

    return app.get(TransactionRunner).run((tx) => createPlan(app, tx, password));
  });
}

async function createPlan(
  app: INestApplicationContext,
  tx: EntityManager,
  password: string,
): Promise<SeededClient[]> {
  const clients = app.get(ClientsService);
  const users = app.get(UsersService);
  const audit = app.get(AuditService);
  const seeded: SeededClient[] = [];
  for (const plan of DEMO_PLAN) {
    const group = plan.memberOf ? seeded.find((client) => client.name === plan.memberOf) : null;
    const client = await clients.create(
      {
        name: plan.name,
        kind: plan.kind,
        groupId: group?.id ?? null,
        requireTwoFactor: plan.requireTwoFactor ?? false,
      },
      tx,
    );
    await audit.recordClientCreated(client, 'demo:seed', tx);
    const created: SeededUser[] = [];
    for (const person of plan.users) {
      const user = await users.create(
        {
          clientId: client.id,
          email: person.email,
          name: person.name,
          password,
          permissions: person.admin ? ADMINISTRATOR : [],
        },
        tx,
      );
      await audit.recordUserCreated(user, 'demo:seed', tx);
      created.push({ id: user.id, email: user.email, name: user.name, admin: !!person.admin });
    }
    seeded.push({
      id: client.id,
      name: client.name,
      kind: client.kind,
      groupId: client.groupId,
      requireTwoFactor: client.requireTwoFactor,
      users: created,
    });
  }

  return seeded;
}

/** What demo:seed prints: the clients, every login, and curl lines to try the flows. */
export function describeDemo(seeded: SeededClient[], password: string, baseUrl: string): string[] {
  const group = found(seeded.find((client) => client.kind === 'group'));
  const members = seeded.filter((client) => client.groupId === group.id);
  const requiring = found(members.find((client) => client.requireTwoFactor));
  const plainMember = found(members.find((client) => !client.requireTwoFactor));
  const small = found(seeded.find((client) => client.kind === 'small'));
  const cross = found(group.users.find((user) => !user.admin));
  const smallUser = found(small.users.find((user) => !user.admin));
  const appUser = found(plainMember.users.find((user) => !user.admin));
  const nameOf = (id: number | null) => seeded.find((client) => client.id === id)?.name;
  const width = Math.max(...seeded.flatMap((client) => client.users.map((u) => u.email.length)));

  const lines = [`Demo data created. Every demo user's password: ${password}`, '', 'Clients:'];
  for (const client of seeded) {
    const notes = [
      client.kind === 'group' ? `group of ${members.map((m) => m.name).join(' and ')}` : null,
      client.groupId ? `member of ${nameOf(client.groupId)}` : null,
      client.requireTwoFactor ? 'requires 2FA' : null,
      client.kind === 'small' ? '2FA not offered' : null,
    ].filter((note) => note !== null);
    const row = `  ${String(client.id).padStart(4)}  ${client.kind.padEnd(8)}  ${client.name.padEnd(15)}`;
    lines.push(`${row}  ${notes.join('; ')}`.trimEnd());
  }
  lines.push('', 'Logins (email, home client, role):');
  for (const client of seeded) {
    for (const user of client.users) {
      const role = `${user.admin ? 'administrator' : 'user'}${roleNote(client, user)}`;
      lines.push(`  ${user.email.padEnd(width)}  ${client.name.padEnd(15)}  ${role}`);
    }
  }

  const credentials = (email: string, extra: Record<string, string> = {}) =>
    shellQuote(JSON.stringify({ email, password, ...extra }));
  const json = "-H 'content-type: application/json'";
  lines.push(
    '',
    'Try it (with jq):',
    `  B=${baseUrl}`,
    `  # ${cross.email} switches to ${requiring.name} without a new login`,
    `  T=$(curl -s $B/auth/login ${json} -d ${credentials(cross.email)} | jq -r .sessionToken)`,
    '  curl -s $B/me/clients -H "authorization: Bearer $T"',
    `  curl -s $B/me/client -H "authorization: Bearer $T" ${json} -d '{"clientId":${requiring.id}}'`,
    `  # ${smallUser.email} (small client): password only, twoFactor.available false`,
    `  S=$(curl -s $B/auth/login ${json} -d ${credentials(smallUser.email)} | jq -r .sessionToken)`,
    '  curl -s $B/me -H "authorization: Bearer $S"',
    `  # ${appUser.email} in the voucher app: password only, a token for app routes alone`,
    `  A=$(curl -s $B/apps/auth/login ${json} ` +
      `-d ${credentials(appUser.email, { app: 'voucher-app' })} | jq -r .sessionToken)`,
    '  curl -s $B/apps/me -H "authorization: Bearer $A"',
  );

  return lines;
}

function roleNote(client: SeededClient, user: SeededUser): string {
  if (client.kind !== 'group') {
    return '';
  }

  return user.admin ? ' of the group and its members; cross-client' : '; cross-client';
}

// The plan above always has these; a plan edited without them fails loudly here.
function found<T>(value: T | undefined): T {
  if (value === undefined) {
    throw new Error('The demo plan lacks a group, its members or a small client');
  }

  return value;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export const demoSeedCommand: CliCommand = {
  name: 'demo:seed',
  description: 'Create demo clients (a group with two members, standard, small) and users',
  options: {
    password: {
      type: 'string',
      description: `The password of every demo user (default: "${DEMO_PASSWORD}")`,
    },
  },
  async run(app, options, out) {
    const env = app.get(Environment);
    if (env.NODE_ENV === 'production') {
      throw new CliUsageError(
        'demo:seed refuses NODE_ENV=production: it creates accounts with a published password',
      );
    }
    const password = stringOption(options, 'password') ?? DEMO_PASSWORD;
    if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
      throw new CliUsageError(
        `--password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      );
    }
    const seeded = await seedDemo(app, password);
    for (const line of describeDemo(seeded, password, `http://localhost:${env.PORT}`)) {
      out(line);
    }
  },
};
