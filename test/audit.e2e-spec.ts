import { Logger } from '@nestjs/common';

import { AuditEvent } from '../src/audit/audit-event.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  bearer,
  createAdministrator,
  createClient,
  createUser,
  login,
  loginToken,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode, wrongCode } from './support/totp-reference';

const DAY0 = new Date('2026-03-02T09:00:00.000Z');

interface EventItem {
  id: number;
  createdAt: string;
  event: string;
  actorUserId: number | null;
  targetUserId: number | null;
  clientId: number | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

describe('audit log', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => t.clock.set(DAY0));

  async function events(
    token: string,
    query: Record<string, number> = {},
  ): Promise<{ items: EventItem[]; total: number }> {
    const response = await t.http
      .get('/admin/audit-events')
      .query({ pageSize: 100, ...query })
      .set(bearer(token));
    expect(response.status).toBe(200);

    return response.body;
  }

  function find(items: EventItem[], event: string, details?: Record<string, unknown>) {
    const found = items.filter(
      (item) =>
        item.event === event &&
        (!details || expect.objectContaining(details).asymmetricMatch(item.details)),
    );
    expect([event, found.length > 0]).toEqual([event, true]);

    // The list is newest first: the first such event is the last one.
    return found[found.length - 1];
  }

  // Each secret a flow handled, to look for in the log afterwards.
  const handled = new Set<string>();

  async function twoFactorLifecycle(clientId: number) {
    const user = await createUser(t, { clientId });
    handled.add(user.email).add(DEFAULT_PASSWORD);
    const first = await loginToken(t, user.email);
    const { secret, recoveryCodes } = await activateTwoFactor(t, first);
    handled.add(first).add(secret);
    recoveryCodes.forEach((code) => handled.add(code).add(code.replace(/-/g, '')));

    const pending = await loginToken(t, user.email);
    const wrong = wrongCode(secret, t.clock.now());
    await t.http.post('/auth/two-factor').set(bearer(pending)).send({ code: wrong });
    const code = totpCode(secret, t.clock.now());
    const step = await t.http
      .post('/auth/two-factor')
      .set(bearer(pending))
      .send({ code, trustDevice: true });
    expect(step.status).toBe(200);
    handled.add(pending).add(step.body.sessionToken).add(step.body.trustedDeviceToken);
    t.clock.advance(30_000);
    const full = step.body.sessionToken as string;
    const devices = await t.http.get('/me/trusted-devices').set(bearer(full));
    await t.http.delete(`/me/trusted-devices/${devices.body[0].id}`).set(bearer(full));

    const forRecovery = await loginToken(t, user.email);
    const recovered = await t.http
      .post('/auth/recovery')
      .set(bearer(forRecovery))
      .send({ recoveryCode: recoveryCodes[0] });
    expect(recovered.status).toBe(200);
    const afterRecovery = recovered.body.sessionToken as string;

    const off = await t.http
      .delete('/me/two-factor')
      .set(bearer(afterRecovery))
      .send({ code: totpCode(secret, t.clock.now()) });
    expect(off.status).toBe(204);
    t.clock.advance(30_000);

    return { user, token: afterRecovery };
  }

  it('records login success and failure, and the password lock, without an actor for failures', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    handled.add(user.email).add('a wrong password!');

    await login(t, user.email, 'a wrong password!');
    t.clock.advance(1000);
    await login(t, user.email);
    // Ten failures in a row after the success lock password login for the email.
    for (let i = 0; i < 10; i++) {
      await login(t, user.email, 'a wrong password!');
    }

    const { items } = await events(admin.token, { userId: user.id });
    const failed = find(items, 'login.failed');
    expect(failed).toMatchObject({
      actorUserId: null,
      targetUserId: user.id,
      clientId: client.id,
      createdAt: DAY0.toISOString(),
    });
    expect(failed.ip).toMatch(/127\.0\.0\.1/);
    expect(find(items, 'login.succeeded')).toMatchObject({
      actorUserId: user.id,
      targetUserId: user.id,
      clientId: client.id,
      createdAt: new Date(DAY0.getTime() + 1000).toISOString(),
      details: { stage: 'authenticated' },
    });
    expect(find(items, 'login.locked')).toMatchObject({ targetUserId: user.id });
  });

  it('records 2FA activation, code failure, trusted devices, recovery code use and self deactivation', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);

    const { user } = await twoFactorLifecycle(client.id);

    const { items } = await events(admin.token, { userId: user.id });
    const own = { actorUserId: user.id, targetUserId: user.id, clientId: client.id };
    expect(find(items, 'two_factor.activated')).toMatchObject(own);
    expect(find(items, 'two_factor.code_failed')).toMatchObject(own);
    expect(find(items, 'trusted_device.added')).toMatchObject(own);
    expect(find(items, 'trusted_device.revoked', { deviceId: expect.any(Number) })).toMatchObject(
      own,
    );
    expect(find(items, 'two_factor.recovery_code_used')).toMatchObject(own);
    expect(find(items, 'two_factor.deactivated', { by: 'self' })).toMatchObject(own);
  });

  it('records the code lock after ten wrong codes', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));

    // A pending session ends at its fifth wrong code: two sessions make ten.
    for (let session = 0; session < 2; session++) {
      const pending = await loginToken(t, user.email);
      for (let i = 0; i < 5; i++) {
        await t.http
          .post('/auth/two-factor')
          .set(bearer(pending))
          .send({ code: wrongCode(secret, t.clock.now()) });
      }
    }

    const { items } = await events(admin.token, { userId: user.id });
    expect(items.filter((item) => item.event === 'two_factor.code_failed')).toHaveLength(10);
    expect(find(items, 'two_factor.locked')).toMatchObject({
      targetUserId: user.id,
      clientId: client.id,
    });
  });

  it("records an administrator's reset, exemption and settings change with the administrator as actor", async () => {
    const client = await createClient(t, { requireTwoFactor: true });
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    const first = await loginToken(t, user.email);
    const { secret } = await activateTwoFactor(t, first);
    const withCode = await loginToken(t, user.email);
    await t.http
      .post('/auth/two-factor')
      .set(bearer(withCode))
      .send({ code: totpCode(secret, t.clock.now()), trustDevice: true });

    await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(admin.token));
    await t.http
      .patch(`/admin/users/${user.id}`)
      .set(bearer(admin.token))
      .send({ twoFactorExempt: true, name: 'Renamed' });
    await t.http
      .patch('/admin/settings')
      .set(bearer(admin.token))
      .send({ requireTwoFactor: false });

    const { items } = await events(admin.token);
    const byAdmin = { actorUserId: admin.user.id, clientId: client.id };
    expect(find(items, 'two_factor.reset_by_admin')).toMatchObject({
      ...byAdmin,
      targetUserId: user.id,
    });
    expect(
      find(items, 'trusted_device.revoked', { reason: 'two_factor_deactivated' }),
    ).toMatchObject({ ...byAdmin, targetUserId: user.id, details: { all: true, count: 1 } });
    expect(find(items, 'user.exemption_changed')).toMatchObject({
      ...byAdmin,
      targetUserId: user.id,
      details: { exempt: true, deadlineCleared: true },
    });
    expect(find(items, 'user.updated')).toMatchObject({ details: { name: true } });
    expect(find(items, 'settings.changed')).toMatchObject({
      ...byAdmin,
      targetUserId: null,
      details: { requireTwoFactor: false },
    });
  });

  it('records no change for a PATCH that changes nothing, permissions in another order included', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const other = await createUser(t, { clientId: client.id, admin: true });

    const response = await t.http
      .patch(`/admin/users/${other.id}`)
      .set(bearer(admin.token))
      .send({ permissions: ['user-management', 'admin'], active: true });

    const { items } = await events(admin.token, { userId: other.id });
    expect(response.status).toBe(200);
    expect(items.map((item) => item.event)).not.toContain('user.updated');
  });

  it('never holds a password, code, secret, token, recovery code or email', async () => {
    const client = await createClient(t);
    await twoFactorLifecycle(client.id);
    const user = await createUser(t, { clientId: client.id });
    handled.add(user.email);
    await login(t, user.email, 'a wrong password!');

    const rows = await t.dataSource.getRepository(AuditEvent).find();
    const stored = rows.map((row) => [row.event, row.ip, row.details].join(' ')).join('\n');
    const codesUsed = stored.match(/\b\d{6}\b/g) ?? [];

    expect(rows.length).toBeGreaterThan(10);
    for (const value of handled) {
      expect([value, stored.toLowerCase().includes(value.toLowerCase())]).toEqual([value, false]);
    }
    expect(codesUsed).toEqual([]);
    expect(stored).not.toMatch(/@/);
  });

  it('answers newest first, in pages of at most 100, with the total', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    for (let i = 0; i < 3; i++) {
      await login(t, user.email, 'a wrong password!');
    }

    const all = await events(admin.token);
    const second = await events(admin.token, { page: 2, pageSize: 2 });
    const tooLarge = await t.http.get('/admin/audit-events?pageSize=101').set(bearer(admin.token));

    const ids = all.items.map((item) => item.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(all.total).toBe(all.items.length);
    expect(second.items.map((item) => item.id)).toEqual(ids.slice(2, 4));
    expect(second.total).toBe(all.total);
    expect([tooLarge.status, tooLarge.body.error]).toEqual([400, 'validation_failed']);
    expect(tooLarge.body.message).toContain('pageSize');
  });

  it.each([
    ['page=0', 'page'],
    ['pageSize=1.5', 'pageSize'],
    ['userId=abc', 'userId'],
    ['clientId=-3', 'clientId'],
    ['event=login.failed', 'event'],
  ])('answers 400 validation_failed naming the field for ?%s', async (query, field) => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);

    const response = await t.http.get(`/admin/audit-events?${query}`).set(bearer(admin.token));

    expect([response.status, response.body.error]).toEqual([400, 'validation_failed']);
    expect(response.body.message).toContain(field);
  });

  it("keeps other clients' events out and answers 404 for a user or client out of reach", async () => {
    const mine = await createClient(t);
    const other = await createClient(t);
    const admin = await createAdministrator(t, mine.id);
    const stranger = await createUser(t, { clientId: other.id });
    await login(t, stranger.email);

    const { items } = await events(admin.token);
    const byUser = await t.http
      .get(`/admin/audit-events?userId=${stranger.id}`)
      .set(bearer(admin.token));
    const byClient = await t.http
      .get(`/admin/audit-events?clientId=${other.id}`)
      .set(bearer(admin.token));

    expect(items.every((item) => item.clientId === mine.id)).toBe(true);
    expect(items.some((item) => item.targetUserId === stranger.id)).toBe(false);
    expect([byUser.status, byUser.body.error]).toEqual([404, 'not_found']);
    expect([byClient.status, byClient.body.error]).toEqual([404, 'not_found']);
  });

  it("shows a group client's administrator the events of its members, narrowed by clientId", async () => {
    const group = await createClient(t, { kind: 'group' });
    const member = await createClient(t, { groupId: group.id });
    const groupAdmin = await createAdministrator(t, group.id);
    const memberUser = await createUser(t, { clientId: member.id });
    await login(t, memberUser.email);

    const all = await events(groupAdmin.token);
    const narrowed = await events(groupAdmin.token, { clientId: member.id });

    expect(find(all.items, 'login.succeeded').clientId).toBeDefined();
    expect(new Set(all.items.map((item) => item.clientId))).toEqual(new Set([group.id, member.id]));
    expect(narrowed.items.length).toBeGreaterThan(0);
    expect(narrowed.items.every((item) => item.clientId === member.id)).toBe(true);
  });

  it('logs administrator security events at warn with ids and never an email', async () => {
    const client = await createClient(t);
    const other = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    const stranger = await createUser(t, { clientId: other.id });
    await activateTwoFactor(t, await loginToken(t, user.email));
    const lines: unknown[][] = [];
    const spies = (['log', 'warn', 'error'] as const).map((level) =>
      jest.spyOn(Logger.prototype, level).mockImplementation(function (...args: unknown[]) {
        lines.push([level, ...args]);
      }),
    );

    try {
      await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(admin.token));
      await t.http
        .patch(`/admin/users/${stranger.id}`)
        .set(bearer(admin.token))
        .send({ name: 'x' });
      await t.http.delete(`/admin/users/${admin.user.id}/two-factor`).set(bearer(admin.token));
      await t.http
        .patch('/admin/settings')
        .set(bearer(admin.token))
        .send({ requireTwoFactor: true });
      await t.http
        .patch('/admin/settings')
        .set(bearer(admin.token))
        .send({ requireTwoFactor: false });
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }

    const text = JSON.stringify(lines);
    expect(text).not.toContain('@');
    const warned = lines.filter(([level]) => level === 'warn');
    expect(warned).toEqual(
      expect.arrayContaining([
        [
          'warn',
          expect.objectContaining({ targetUserId: user.id, userId: admin.user.id }),
          '2FA reset by an administrator',
        ],
        ['warn', expect.objectContaining({ requestedUserId: stranger.id }), expect.any(String)],
        [
          'warn',
          expect.objectContaining({ userId: admin.user.id, clientId: client.id }),
          expect.stringContaining('own 2FA'),
        ],
        [
          'warn',
          expect.objectContaining({ clientId: client.id }),
          '2FA requirement of the client lifted',
        ],
      ]),
    );
  });
});
