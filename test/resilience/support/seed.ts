import * as argon2 from 'argon2';

import { ARGON2_OPTIONS } from '../../../src/users/password-hasher';
import { PASSWORD, uniqueEmail } from './accounts';
import { TestDatabase } from './mariadb';

let passwordHash: Promise<string> | undefined;

/** The argon2id hash of PASSWORD, computed once: seeding many users must not hash each. */
export function sharedPasswordHash(): Promise<string> {
  passwordHash ??= argon2.hash(PASSWORD, ARGON2_OPTIONS);

  return passwordHash;
}

/** Mail rows written straight into the outbox, as a burst of changes would leave them. */
export async function enqueueMails(
  db: TestDatabase,
  recipients: string[],
  name: string,
): Promise<void> {
  const now = new Date();
  const rows = recipients.map((recipient) => [
    'two-factor-locked',
    recipient,
    JSON.stringify({ name, lockedUntil: now.toISOString() }),
    'pending',
    0,
    now,
    null,
    null,
    null,
    now,
    null,
  ]);
  await db.query(
    'INSERT INTO mail_outbox (template, recipient, payload, status, attempts, next_attempt_at, claim_token, claim_expires_at, last_error, created_at, sent_at) VALUES ?',
    [rows],
  );
}

/** A client written straight into the database (there is no route that creates clients). */
export async function seedClient(
  db: TestDatabase,
  input: { name: string; requireTwoFactor?: boolean },
): Promise<number> {
  const now = new Date();
  const result = (await db.query(
    'INSERT INTO clients (name, kind, group_id, require_two_factor, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?)',
    [input.name, 'standard', input.requireTwoFactor ? 1 : 0, now, now],
  )) as unknown as { insertId: number };

  return result.insertId;
}

export interface SeedUser {
  clientId: number;
  email?: string;
  admin?: boolean;
  deadline?: Date | null;
}

/** Users written straight into the database, all with PASSWORD; returns their ids and emails. */
export async function seedUsers(
  db: TestDatabase,
  users: SeedUser[],
): Promise<{ id: number; email: string }[]> {
  const hash = await sharedPasswordHash();
  const now = new Date();
  const rows = users.map((user) => [
    user.clientId,
    user.email ?? uniqueEmail('seeded'),
    'Seeded User',
    hash,
    user.admin ? 'admin,user-management' : '',
    1,
    0,
    user.deadline ?? null,
    now,
    now,
  ]);
  await db.query(
    'INSERT INTO users (client_id, email, name, password_hash, permissions, active, two_factor_exempt, two_factor_deadline, created_at, updated_at) VALUES ?',
    [rows],
  );
  const emails = rows.map((row) => row[1] as string);

  return db.query<{ id: number; email: string }>(
    'SELECT id, email FROM users WHERE email IN (?) ORDER BY id',
    [emails],
  );
}
