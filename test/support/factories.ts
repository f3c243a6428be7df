import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import type request from 'supertest';

import { AuditEvent } from '../../src/audit/audit-event.entity';
import { Client, ClientKind } from '../../src/clients/client.entity';
import { ClientsService } from '../../src/clients/clients.service';
import { MailOutbox } from '../../src/notifications/mail-outbox.entity';
import { TransactionRunner } from '../../src/database/transaction-runner';
import { AppChannel, Channel, Session } from '../../src/sessions/session.entity';
import { SessionsService } from '../../src/sessions/sessions.service';
import { TwoFactorCredential } from '../../src/two-factor/two-factor-credential.entity';
import { ARGON2_OPTIONS } from '../../src/users/password-hasher';
import { Permission, User } from '../../src/users/user.entity';
import { UsersService } from '../../src/users/users.service';
import { TestApp } from './test-app';
import { totpCode } from './totp-reference';

export const DEFAULT_PASSWORD = 'a long enough password';
const ADMIN: Permission[] = ['admin', 'user-management'];

let sequence = 0;
export function uniqueEmail(prefix = 'user'): string {
  sequence += 1;

  return `${prefix}-${sequence}-${randomBytes(3).toString('hex')}@example.com`;
}

export function createClient(
  t: TestApp,
  input: { name?: string; kind?: ClientKind; groupId?: number; requireTwoFactor?: boolean } = {},
): Promise<Client> {
  sequence += 1;

  return t.get(ClientsService).create({
    name: input.name ?? `Client ${sequence}`,
    kind: input.kind ?? 'standard',
    groupId: input.groupId ?? null,
    requireTwoFactor: input.requireTwoFactor ?? false,
  });
}

export interface UserInput {
  clientId: number;
  email?: string;
  name?: string;
  password?: string;
  permissions?: Permission[];
  admin?: boolean;
}

export function createUser(t: TestApp, input: UserInput): Promise<User> {
  return t.get(UsersService).create({
    clientId: input.clientId,
    email: input.email ?? uniqueEmail(),
    name: input.name ?? 'Test User',
    password: input.password ?? DEFAULT_PASSWORD,
    permissions: input.permissions ?? (input.admin ? ADMIN : []),
  });
}

let sharedHash: Promise<string> | undefined;

/** Many users at once with one precomputed hash of DEFAULT_PASSWORD (argon2 is slow). */
export async function createUsersInBulk(
  t: TestApp,
  clientId: number,
  count: number,
): Promise<User[]> {
  sharedHash ??= argon2.hash(DEFAULT_PASSWORD, ARGON2_OPTIONS);
  const passwordHash = await sharedHash;
  const now = t.clock.now();
  const rows = Array.from({ length: count }, () => ({
    clientId,
    email: uniqueEmail('bulk'),
    name: 'Bulk User',
    passwordHash,
    permissions: [] as Permission[],
    active: true,
    twoFactorExempt: false,
    twoFactorDeadline: null,
    createdAt: now,
    updatedAt: now,
  }));
  const repository = t.dataSource.getRepository(User);
  await repository.insert(rows);

  return repository.find({
    where: rows.map((row) => ({ email: row.email })),
    order: { id: 'ASC' },
  });
}

export interface LoginAnswer {
  status: number;
  body: {
    sessionToken: string;
    stage: string;
    expiresAt: string;
    notice: unknown;
    trustedDeviceToken?: string;
    /** On an error answer. */
    error?: string;
    message?: string;
  };
}

export async function login(
  t: TestApp,
  email: string,
  password = DEFAULT_PASSWORD,
  extra: Record<string, unknown> = {},
): Promise<LoginAnswer> {
  const response = await t.http.post('/auth/login').send({ email, password, ...extra });

  return { status: response.status, body: response.body as LoginAnswer['body'] };
}

/** Logs in and expects the given stage; returns the session token. */
export async function loginToken(
  t: TestApp,
  email: string,
  password = DEFAULT_PASSWORD,
): Promise<string> {
  const answer = await login(t, email, password);
  if (answer.status !== 200) {
    throw new Error(`login failed with ${answer.status}: ${JSON.stringify(answer.body)}`);
  }

  return answer.body.sessionToken;
}

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

export interface ActivatedTwoFactor {
  secret: string;
  recoveryCodes: string[];
}

/**
 * Sets up and confirms 2FA through the API, as a user would. The confirm code uses the
 * current step; the test clock then moves one step on, so the next code is fresh.
 */
export async function activateTwoFactor(
  t: TestApp,
  token: string,
  password = DEFAULT_PASSWORD,
): Promise<ActivatedTwoFactor> {
  const setup = await t.http.post('/me/two-factor/setup').set(bearer(token)).send({ password });
  if (setup.status !== 201) {
    throw new Error(`setup failed with ${setup.status}: ${JSON.stringify(setup.body)}`);
  }
  const secret = (setup.body as { secret: string }).secret;
  const confirm = await t.http
    .post('/me/two-factor/confirm')
    .set(bearer(token))
    .send({ code: totpCode(secret, t.clock.now()) });
  if (confirm.status !== 200) {
    throw new Error(`confirm failed with ${confirm.status}: ${JSON.stringify(confirm.body)}`);
  }
  t.clock.advance(30_000);

  return { secret, recoveryCodes: (confirm.body as { recoveryCodes: string[] }).recoveryCodes };
}

/** Password and code: a full session for a user with 2FA. Moves the clock one step on. */
export async function loginWithCode(
  t: TestApp,
  email: string,
  secret: string,
  password = DEFAULT_PASSWORD,
): Promise<string> {
  const pending = await loginToken(t, email, password);
  const answer = await t.http
    .post('/auth/two-factor')
    .set(bearer(pending))
    .send({ code: totpCode(secret, t.clock.now()) });
  if (answer.status !== 200) {
    throw new Error(`code step failed with ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  t.clock.advance(30_000);

  return (answer.body as { sessionToken: string }).sessionToken;
}

/** A client with one administrator, and that administrator's session. */
/** A new client with one administrator, logged in. */
export async function createClientWithAdministrator(
  t: TestApp,
  clientInput: Parameters<typeof createClient>[1] = {},
): Promise<{ client: Client; admin: User; token: string }> {
  const client = await createClient(t, clientInput);
  const admin = await createUser(t, { clientId: client.id, admin: true, name: 'Admin' });

  return { client, admin, token: await loginToken(t, admin.email) };
}

export interface TwoFactorUser extends ActivatedTwoFactor {
  user: User;
  /** The session that confirmed 2FA: it stays authenticated. */
  token: string;
}

/** A user with active 2FA, set up through the API. Moves the clock one step on. */
export async function createTwoFactorUser(t: TestApp, input: UserInput): Promise<TwoFactorUser> {
  const user = await createUser(t, input);
  const token = await loginToken(t, user.email);

  return { user, token, ...(await activateTwoFactor(t, token)) };
}

/** Logs in a user with active 2FA and returns the pending session's token. */
export async function pendingToken(
  t: TestApp,
  email: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const answer = await login(t, email, DEFAULT_PASSWORD, extra);
  if (answer.status !== 200 || answer.body.stage !== 'two-factor-required') {
    throw new Error(
      `expected a pending login, got ${answer.status}: ${JSON.stringify(answer.body)}`,
    );
  }

  return answer.body.sessionToken;
}

/** The code an authenticator shows now on the test clock (optionally a drift step away). */
export function currentCode(t: TestApp, secret: string, stepOffset = 0): string {
  return totpCode(secret, t.clock.now(), stepOffset);
}

export function sendCode(
  t: TestApp,
  token: string,
  code: unknown,
  extra: Record<string, unknown> = {},
): request.Test {
  return t.http
    .post('/auth/two-factor')
    .set(bearer(token))
    .send({ code, ...extra });
}

export function sendRecoveryCode(t: TestApp, token: string, recoveryCode: unknown): request.Test {
  return t.http.post('/auth/recovery').set(bearer(token)).send({ recoveryCode });
}

/** Moves the user's 2FA setup deadline into the past: their sessions become setup-required. */
export async function passDeadline(t: TestApp, userId: number): Promise<void> {
  await t.dataSource
    .getRepository(User)
    .update({ id: userId }, { twoFactorDeadline: new Date(t.clock.now().getTime() - 1000) });
}

export function outboxMails(t: TestApp, recipient: string): Promise<MailOutbox[]> {
  return t.dataSource
    .getRepository(MailOutbox)
    .find({ where: { recipient }, order: { id: 'ASC' } });
}

export function credentialOf(t: TestApp, userId: number): Promise<TwoFactorCredential | null> {
  return t.dataSource.getRepository(TwoFactorCredential).findOneBy({ userId });
}

export function sessionsOf(t: TestApp, userId: number): Promise<Session[]> {
  return t.dataSource.getRepository(Session).find({ where: { userId }, order: { id: 'ASC' } });
}

/** Every row of a table as plain values, for checks that a value is stored nowhere. */
export async function tableText(t: TestApp, table: string): Promise<string> {
  const rows: unknown = await t.dataSource.query(`SELECT * FROM ${table}`);

  return JSON.stringify(rows);
}

/**
 * A session for `user` written straight to the database, without a password check (argon2 is
 * slow): `full` has passed every step, `pending` still owes the code (for a user with 2FA).
 */
export async function issueSession(
  t: TestApp,
  user: User,
  options: { stage?: 'full' | 'pending'; channel?: Channel } = {},
): Promise<string> {
  const now = t.clock.now();
  const channel = options.channel ?? 'backoffice';
  const pending = options.stage === 'pending';
  const { token } = await t.get(TransactionRunner).run((tx) =>
    t.get(SessionsService).issue(tx, {
      userId: user.id,
      channel,
      activeClientId: user.clientId,
      passwordVerifiedAt: now,
      secondFactorVerifiedAt: pending || channel !== 'backoffice' ? null : now,
      pending,
      ip: null,
      userAgent: null,
    }),
  );

  return token;
}

export interface GroupInput {
  requireTwoFactor?: boolean;
  /** One entry per member client: whether that member requires 2FA. */
  members?: { requireTwoFactor?: boolean }[];
}

/** A group client and its member clients (two plain members unless told otherwise). */
export async function createGroup(
  t: TestApp,
  input: GroupInput = {},
): Promise<{ group: Client; members: Client[] }> {
  const group = await createClient(t, {
    kind: 'group',
    requireTwoFactor: input.requireTwoFactor,
  });
  const members: Client[] = [];
  for (const member of input.members ?? [{}, {}]) {
    members.push(
      await createClient(t, { groupId: group.id, requireTwoFactor: member.requireTwoFactor }),
    );
  }

  return { group, members };
}

/** `POST /me/client`: moves the session's active client. */
export function switchClient(t: TestApp, token: string, clientId: number) {
  return t.http.post('/me/client').set(bearer(token)).send({ clientId });
}

export interface AppLoginAnswer {
  status: number;
  headers: Record<string, unknown>;
  body: { sessionToken: string; app: string; expiresAt: string; error?: string };
}

export async function appLogin(
  t: TestApp,
  email: string,
  app: AppChannel = 'voucher-app',
  password = DEFAULT_PASSWORD,
): Promise<AppLoginAnswer> {
  const response = await t.http.post('/apps/auth/login').send({ email, password, app });

  return {
    status: response.status,
    headers: response.headers,
    body: response.body as AppLoginAnswer['body'],
  };
}

/** Logs in on an app channel and returns the app token. */
export async function appToken(
  t: TestApp,
  email: string,
  app: AppChannel = 'voucher-app',
  password = DEFAULT_PASSWORD,
): Promise<string> {
  const answer = await appLogin(t, email, app, password);
  if (answer.status !== 200) {
    throw new Error(`app login failed with ${answer.status}: ${JSON.stringify(answer.body)}`);
  }

  return answer.body.sessionToken;
}

/** The audit events of one kind, oldest first, details parsed. */
export async function auditEvents(
  t: TestApp,
  event: string,
): Promise<(Omit<AuditEvent, 'details'> & { details: Record<string, unknown> | null })[]> {
  const rows = await t.dataSource
    .getRepository(AuditEvent)
    .find({ where: { event }, order: { id: 'ASC' } });

  return rows.map((row) => ({
    ...row,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
  }));
}

/** Reads a user's row as it is now (deadline, exemption, client). */
export function reloadUser(t: TestApp, id: number): Promise<User> {
  return t.dataSource.getRepository(User).findOneByOrFail({ id });
}

export interface LoggedIn {
  user: User;
  token: string;
}

/** A new administrator of the client (admin and user-management), logged in. */
export async function createAdministrator(t: TestApp, clientId: number): Promise<LoggedIn> {
  const user = await createUser(t, { clientId, admin: true });

  return { user, token: await loginToken(t, user.email) };
}

/** A new user of the client without permissions, logged in. */
export async function createLoggedInUser(t: TestApp, clientId: number): Promise<LoggedIn> {
  const user = await createUser(t, { clientId });

  return { user, token: await loginToken(t, user.email) };
}
