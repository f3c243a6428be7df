import { randomBytes } from 'node:crypto';

import { totpCode } from '../../support/totp-reference';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Cluster } from './cluster';
import { expectStatus, sleep } from './http';
import { ServiceInstance } from './instance';

export const PASSWORD = 'a long enough password';
const STEP_MS = 30_000;

export const currentStep = (): number => Math.floor(Date.now() / STEP_MS);

/**
 * The instances run on the system clock: before a step that needs a code to stay valid, wait
 * for the next 30-second step when less than `marginMs` remain in this one.
 */
export async function awayFromStepBoundary(marginMs = 5_000): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < marginMs) {
    await sleep(left + 100);
  }
}

export function uniqueEmail(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@resilience.test`;
}

export async function loginToken(
  instance: ServiceInstance,
  email: string,
  password = PASSWORD,
): Promise<{ token: string; stage: string }> {
  const answer = await instance.request({ path: '/auth/login', body: { email, password } });
  expectStatus(answer, 200, `login of ${email}`);

  return { token: answer.body.sessionToken, stage: answer.body.stage };
}

export async function adminToken(cluster: Cluster): Promise<string> {
  return (await loginToken(cluster.instances[0], ADMIN_EMAIL, ADMIN_PASSWORD)).token;
}

/** Creates a user through the administration API (in the administrator's client). */
export async function createUser(
  instance: ServiceInstance,
  admin: string,
  input: { email?: string; permissions?: string[] } = {},
): Promise<{ id: number; email: string }> {
  const email = input.email ?? uniqueEmail('user');
  const answer = await instance.request({
    path: '/admin/users',
    token: admin,
    body: {
      email,
      name: 'Resilience User',
      password: PASSWORD,
      permissions: input.permissions ?? [],
    },
  });
  expectStatus(answer, 201, 'create user');

  return { id: answer.body.id, email };
}

export interface TwoFactorUser {
  id: number;
  email: string;
  secret: string;
  recoveryCodes: string[];
  /** The last time step the service accepted for this user. */
  lastStep: number;
}

/** Sets up and confirms 2FA through the API, as the user would, with the real clock. */
export async function withTwoFactor(
  instance: ServiceInstance,
  user: { id: number; email: string },
): Promise<TwoFactorUser> {
  const { token } = await loginToken(instance, user.email);
  const setup = await instance.request({
    path: '/me/two-factor/setup',
    token,
    body: { password: PASSWORD },
  });
  expectStatus(setup, 201, 'setup');
  const secret = setup.body.secret as string;
  await awayFromStepBoundary();
  const step = currentStep();
  const confirm = await instance.request({
    path: '/me/two-factor/confirm',
    token,
    body: { code: totpCode(secret, new Date(step * STEP_MS)) },
  });
  expectStatus(confirm, 200, 'confirm');

  return { ...user, secret, recoveryCodes: confirm.body.recoveryCodes, lastStep: step };
}

/**
 * A code the service accepts now: the step after the last accepted one, which lies within
 * the drift window while the clock is at most one step past it. Waits otherwise.
 */
export async function freshCode(user: TwoFactorUser): Promise<{ code: string; step: number }> {
  await awayFromStepBoundary();
  while (user.lastStep + 1 > currentStep() + 1) {
    await sleep(STEP_MS - (Date.now() % STEP_MS) + 100);
  }
  const step = Math.max(user.lastStep + 1, currentStep());

  return { code: totpCode(user.secret, new Date(step * STEP_MS)), step };
}

/** A pending session (password done, code due). */
export async function pendingToken(instance: ServiceInstance, email: string): Promise<string> {
  const { token, stage } = await loginToken(instance, email);
  if (stage !== 'two-factor-required') {
    throw new Error(`expected a pending session, got ${stage}`);
  }

  return token;
}

/** A full session for a 2FA user: password and a fresh code. */
export async function fullToken(instance: ServiceInstance, user: TwoFactorUser): Promise<string> {
  const pending = await pendingToken(instance, user.email);
  const { code, step } = await freshCode(user);
  const answer = await instance.request({
    path: '/auth/two-factor',
    token: pending,
    body: { code },
  });
  expectStatus(answer, 200, 'code step');
  user.lastStep = step;

  return answer.body.sessionToken;
}
