import { EXPORT_BATCH_SIZE } from '../src/admin/admin-overview.service';
import { userState } from '../src/admin/user-state';
import { Client } from '../src/clients/client.entity';
import { DAY_MS } from '../src/common/time';
import { MailOutbox } from '../src/notifications/mail-outbox.entity';
import { Session } from '../src/sessions/session.entity';
import { RecoveryCode } from '../src/two-factor/recovery-code.entity';
import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import {
  TwoFactorCredential,
  isCredentialActive,
} from '../src/two-factor/two-factor-credential.entity';
import { TwoFactorService } from '../src/two-factor/two-factor.service';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  bearer,
  createAdministrator,
  createClient,
  createLoggedInUser,
  createUser,
  createUsersInBulk,
  credentialOf,
  login,
  loginToken,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

const DAY0 = new Date('2026-03-02T09:00:00.000Z');

interface OverviewItem {
  id: number;
  email: string;
  state: string;
  deadline: string | null;
  clientId: number;
}

describe('administration of users', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => t.clock.set(DAY0));

  const users = () => t.dataSource.getRepository(User);

  async function setDeadline(userId: number, deadline: Date | null) {
    await users().update({ id: userId }, { twoFactorDeadline: deadline });
  }

  /**
   * A client with one user in each state (and its administrator, inactive): active (2FA on),
   * exempt, overdue, pending, inactive.
   */
  async function clientWithEveryState() {
    const client = await createClient(t, { requireTwoFactor: true });
    const admin = await createAdministrator(t, client.id);
    const active = await createLoggedInUser(t, client.id);
    await activateTwoFactor(t, active.token);
    const exempt = await createUser(t, { clientId: client.id });
    await users().update({ id: exempt.id }, { twoFactorExempt: true });
    const overdue = await createUser(t, { clientId: client.id });
    await setDeadline(overdue.id, new Date(t.clock.now().getTime() - 1));
    const pending = await createUser(t, { clientId: client.id });
    await setDeadline(pending.id, new Date(t.clock.now().getTime() + DAY_MS));
    const inactive = await createUser(t, { clientId: client.id });
    // The administrator logged in before the client required 2FA: no deadline.
    await users().update({ id: admin.user.id }, { twoFactorDeadline: null });

    return { client, admin, active: active.user, exempt, overdue, pending, inactive };
  }

  function overview(token: string, query: Record<string, string | number> = {}) {
    return t.http.get('/admin/users').query(query).set(bearer(token));
  }

  describe('GET /admin/users', () => {
    it('lists each user of the client once with one state, and counts per state', async () => {
      const c = await clientWithEveryState();

      const response = await overview(c.admin.token);

      expect(response.status).toBe(200);
      const states = Object.fromEntries(
        (response.body.items as OverviewItem[]).map((item) => [item.id, item.state]),
      );
      expect(states).toEqual({
        [c.admin.user.id]: 'inactive',
        [c.active.id]: 'active',
        [c.exempt.id]: 'exempt',
        [c.overdue.id]: 'overdue',
        [c.pending.id]: 'pending',
        [c.inactive.id]: 'inactive',
      });
      expect(response.body.counts).toEqual({
        active: 1,
        exempt: 1,
        overdue: 1,
        pending: 1,
        inactive: 2,
      });
      expect(response.body).toMatchObject({ total: 6, page: 1, pageSize: 20 });
      expect(response.body.items[0]).toEqual(
        expect.objectContaining({
          id: c.admin.user.id,
          email: c.admin.user.email,
          name: c.admin.user.name,
          clientId: c.client.id,
          state: 'inactive',
          deadline: null,
          active: true,
          permissions: ['admin', 'user-management'],
        }),
      );
    });

    it('computes the same state in the database as userState() does', async () => {
      const c = await clientWithEveryState();
      await setDeadline(c.inactive.id, t.clock.now());

      const response = await overview(c.admin.token, { pageSize: 100 });

      for (const item of response.body.items as OverviewItem[]) {
        const user = await users().findOneByOrFail({ id: item.id });
        const credential = await t.dataSource
          .getRepository(TwoFactorCredential)
          .findOneBy({ userId: item.id });
        expect([item.id, item.state]).toEqual([
          item.id,
          userState(user, isCredentialActive(credential), t.clock.now()),
        ]);
      }
      expect(response.body.counts.overdue).toBe(2);
    });

    it('filters by state, with counts for the whole client and the total of the filter', async () => {
      const c = await clientWithEveryState();

      const overdue = await overview(c.admin.token, { state: 'overdue' });
      const inactive = await overview(c.admin.token, { state: 'inactive' });

      expect(overdue.body.items.map((item: OverviewItem) => item.id)).toEqual([c.overdue.id]);
      expect(overdue.body.total).toBe(1);
      expect(overdue.body.counts.inactive).toBe(2);
      expect(inactive.body.items.map((item: OverviewItem) => item.id)).toEqual([
        c.admin.user.id,
        c.inactive.id,
      ]);
      expect(inactive.body.total).toBe(2);
    });

    it('moves a pending user to overdue when the clock passes the deadline', async () => {
      const c = await clientWithEveryState();
      t.clock.advance(DAY_MS);
      const admin = await loginToken(t, c.admin.user.email);

      const response = await overview(admin, { state: 'overdue' });

      expect(response.body.items.map((item: OverviewItem) => item.id).sort()).toEqual(
        [c.overdue.id, c.pending.id].sort(),
      );
    });

    it('pages in id order, numbered from 1, at most 100 a page', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const bulk = await createUsersInBulk(t, client.id, 104);
      const ids = [admin.user.id, ...bulk.map((user) => user.id)];

      const first = await overview(admin.token, { page: 1, pageSize: 100 });
      const second = await overview(admin.token, { page: 2, pageSize: 100 });
      const beyond = await overview(admin.token, { page: 3, pageSize: 100 });
      const small = await overview(admin.token, { page: 3, pageSize: 2 });

      expect(first.body.items.map((item: OverviewItem) => item.id)).toEqual(ids.slice(0, 100));
      expect(second.body.items.map((item: OverviewItem) => item.id)).toEqual(ids.slice(100));
      expect(beyond.body.items).toEqual([]);
      expect(beyond.body.total).toBe(105);
      expect(small.body.items.map((item: OverviewItem) => item.id)).toEqual(ids.slice(4, 6));
    });

    it("shows only the administrator's client, never another client's users", async () => {
      const mine = await createClient(t);
      const other = await createClient(t);
      const admin = await createAdministrator(t, mine.id);
      const stranger = await createUser(t, { clientId: other.id });

      const response = await overview(admin.token, { pageSize: 100 });

      expect(response.body.items.map((item: OverviewItem) => item.id)).toEqual([admin.user.id]);
      expect(response.body.items.map((item: OverviewItem) => item.id)).not.toContain(stranger.id);
      expect(response.body.total).toBe(1);
    });

    it("lets a group client's administrator see and narrow to its member clients", async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const admin = await createAdministrator(t, group.id);
      const memberUser = await createUser(t, { clientId: member.id });

      const all = await overview(admin.token);
      const narrowed = await overview(admin.token, { clientId: member.id });

      expect(all.body.items.map((item: OverviewItem) => item.id)).toEqual([
        admin.user.id,
        memberUser.id,
      ]);
      expect(narrowed.body.items.map((item: OverviewItem) => item.id)).toEqual([memberUser.id]);
      expect(narrowed.body.counts).toMatchObject({ inactive: 1 });
    });

    it('answers 404 not_found for a client out of reach, a group or a stranger', async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const other = await createClient(t);
      const memberAdmin = await createAdministrator(t, member.id);

      for (const clientId of [group.id, other.id, 2_000_000]) {
        const response = await overview(memberAdmin.token, { clientId });
        expect([clientId, response.status, response.body.error]).toEqual([
          clientId,
          404,
          'not_found',
        ]);
      }
    });

    it.each([
      ['pageSize=101', 'pageSize'],
      ['pageSize=0', 'pageSize'],
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=1.5', 'page'],
      ['page=1e2', 'page'],
      ['page=abc', 'page'],
      ['page=', 'page'],
      ['page=1&page=2', 'page'],
      ['page=99999999999999999999', 'page'],
      ['page=1000001', 'page'],
      ['pageSize=%20%31', 'pageSize'],
      ['state=locked', 'state'],
      ['state=', 'state'],
      ['state=active&state=exempt', 'state'],
      ['clientId=x', 'clientId'],
      ['clientId=0', 'clientId'],
      ['clientId=99999999999', 'clientId'],
      ['sort=email', 'sort'],
      ['page[x]=1', 'page[x]'],
    ])('answers 400 validation_failed naming the field for ?%s', async (query, field) => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      for (const path of ['/admin/users', '/admin/users/export.csv']) {
        if (path.endsWith('.csv') && /page/i.test(field)) {
          continue;
        }
        const response = await t.http.get(`${path}?${query}`).set(bearer(admin.token));
        expect([path, response.status, response.body.error]).toEqual([
          path,
          400,
          'validation_failed',
        ]);
        expect(response.body.message).toContain(field);
      }
    });

    it('never answers 500 for odd query strings', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      for (const query of [
        '__proto__=1',
        'constructor=1',
        '%ZZ=1',
        'page=%00',
        'state=%E2%80%8Bactive',
        'a'.repeat(5000) + '=1',
        'page=' + '9'.repeat(400),
      ]) {
        const response = await t.http.get(`/admin/users?${query}`).set(bearer(admin.token));
        expect([query.slice(0, 20), response.status < 500]).toEqual([query.slice(0, 20), true]);
      }
    });
  });

  describe('GET /admin/users/export.csv', () => {
    function exportCsv(token: string, query: Record<string, string | number> = {}) {
      return t.http
        .get('/admin/users/export.csv')
        .query(query)
        .set(bearer(token))
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        });
    }

    it('answers RFC 4180 CSV with a header row, CRLF line ends and a file name', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const ada = await createUser(t, { clientId: client.id, name: 'Lovelace, Ada "the first"' });

      const response = await exportCsv(admin.token);

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(response.headers['content-disposition']).toBe(
        'attachment; filename="users-2026-03-02.csv"',
      );
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toBe(
        'id,email,name,clientId,state,deadline,active,permissions\r\n' +
          `${admin.user.id},${admin.user.email},Test User,${client.id},inactive,,true,admin user-management\r\n` +
          `${ada.id},${ada.email},"Lovelace, Ada ""the first""",${client.id},inactive,,true,\r\n`,
      );
    });

    it('prefixes cells that would start a formula with an apostrophe', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const names = ['=HYPERLINK("http://evil","x")', '+1', '-2+3', '@SUM(A1)', 'plain'];
      for (const name of names) {
        await createUser(t, { clientId: client.id, name });
      }

      const response = await exportCsv(admin.token);
      const lines = (response.body as string).split('\r\n');

      expect(lines.slice(2, 7).map((line) => line.split(',')[2])).toEqual([
        `"'=HYPERLINK(""http://evil""`,
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        'plain',
      ]);
    });

    it('applies the overview filters and keeps to the reach', async () => {
      const c = await clientWithEveryState();
      const other = await createClient(t);
      await createUser(t, { clientId: other.id });

      const overdue = await exportCsv(c.admin.token, { state: 'overdue' });
      const outOfReach = await t.http
        .get('/admin/users/export.csv')
        .query({ clientId: other.id })
        .set(bearer(c.admin.token));

      const rows = (overdue.body as string).trimEnd().split('\r\n').slice(1);
      expect(rows.map((row) => Number(row.split(',')[0]))).toEqual([c.overdue.id]);
      expect(rows[0]).toContain(',overdue,');
      expect(outOfReach.status).toBe(404);
      expect(outOfReach.body.error).toBe('not_found');
    });

    it('exports every user, past the batch size, in id order', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      // Two full batches exactly: the export must stop after reading an empty one.
      const bulk = [
        ...(await createUsersInBulk(t, client.id, EXPORT_BATCH_SIZE)),
        ...(await createUsersInBulk(t, client.id, EXPORT_BATCH_SIZE - 1)),
      ];

      const response = await exportCsv(admin.token);
      const rows = (response.body as string).split('\r\n');

      expect(rows[rows.length - 1]).toBe('');
      expect(rows.slice(1, -1).map((row) => Number(row.split(',')[0]))).toEqual([
        admin.user.id,
        ...bulk.map((user) => user.id),
      ]);
    });
  });

  describe('PATCH /admin/users/:id', () => {
    it('exempts a user and clears their deadline', async () => {
      const c = await clientWithEveryState();

      const response = await t.http
        .patch(`/admin/users/${c.pending.id}`)
        .set(bearer(c.admin.token))
        .send({ twoFactorExempt: true });

      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        id: c.pending.id,
        state: 'exempt',
        deadline: null,
        twoFactorExempt: true,
      });
    });

    it('refuses an administrator their own exemption with 403 cannot_change_own_exemption', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      const response = await t.http
        .patch(`/admin/users/${admin.user.id}`)
        .set(bearer(admin.token))
        .send({ twoFactorExempt: true });

      expect(response.status).toBe(403);
      expect(response.body.error).toBe('cannot_change_own_exemption');
      expect((await users().findOneByOrFail({ id: admin.user.id })).twoFactorExempt).toBe(false);
    });

    it('refuses to remove the last administrator with 409 last_administrator', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      const demote = await t.http
        .patch(`/admin/users/${admin.user.id}`)
        .set(bearer(admin.token))
        .send({ permissions: ['admin'] });
      const deactivate = await t.http
        .patch(`/admin/users/${admin.user.id}`)
        .set(bearer(admin.token))
        .send({ active: false });

      expect([demote.status, demote.body.error]).toEqual([409, 'last_administrator']);
      expect([deactivate.status, deactivate.body.error]).toEqual([409, 'last_administrator']);
    });

    it('lets a second administrator be demoted while one remains', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const second = await createUser(t, { clientId: client.id, admin: true });

      const response = await t.http
        .patch(`/admin/users/${second.id}`)
        .set(bearer(admin.token))
        .send({ permissions: [] });

      expect(response.status).toBe(200);
      expect(response.body.permissions).toEqual([]);
    });

    it("answers 404 not_found for another client's user and changes nothing", async () => {
      const client = await createClient(t);
      const other = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const stranger = await createUser(t, { clientId: other.id });

      const response = await t.http
        .patch(`/admin/users/${stranger.id}`)
        .set(bearer(admin.token))
        .send({ twoFactorExempt: true });

      expect([response.status, response.body.error]).toEqual([404, 'not_found']);
      expect((await users().findOneByOrFail({ id: stranger.id })).twoFactorExempt).toBe(false);
    });

    it.each([
      [{ twoFactorExempt: 'true' }, 'twoFactorExempt'],
      [{ twoFactorExempt: null }, 'twoFactorExempt'],
      [{ email: 'x@example.com' }, 'email'],
    ])('answers 400 validation_failed naming the field for %j', async (body, field) => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const user = await createUser(t, { clientId: client.id });

      const response = await t.http
        .patch(`/admin/users/${user.id}`)
        .set(bearer(admin.token))
        .send(body);

      expect([response.status, response.body.error]).toEqual([400, 'validation_failed']);
      expect(response.body.message).toContain(field);
    });
  });

  describe('DELETE /admin/users/:id/two-factor', () => {
    async function userWithTwoFactorAndTrustedDevice(clientId: number) {
      const user = await createUser(t, { clientId });
      const first = await loginToken(t, user.email);
      const { secret } = await activateTwoFactor(t, first);
      const pending = await loginToken(t, user.email);
      const step = await t.http
        .post('/auth/two-factor')
        .set(bearer(pending))
        .send({ code: totpCode(secret, t.clock.now()), trustDevice: true });
      expect(step.status).toBe(200);
      t.clock.advance(30_000);

      return { user, token: step.body.sessionToken as string, secret };
    }

    it('removes 2FA, trusted devices, recovery codes and sessions, and emails the user', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const target = await userWithTwoFactorAndTrustedDevice(client.id);
      const userId = target.user.id;
      expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId })).toBe(1);

      const response = await t.http
        .delete(`/admin/users/${userId}/two-factor`)
        .set(bearer(admin.token));

      expect(response.status).toBe(204);
      const credential = await t.dataSource
        .getRepository(TwoFactorCredential)
        .findOneByOrFail({ userId });
      expect(isCredentialActive(credential)).toBe(false);
      expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId })).toBe(0);
      expect(await t.dataSource.getRepository(RecoveryCode).countBy({ userId })).toBe(0);
      expect(await t.dataSource.getRepository(Session).countBy({ userId })).toBe(0);
      expect((await t.http.get('/me').set(bearer(target.token))).status).toBe(401);
      const mail = await t.dataSource
        .getRepository(MailOutbox)
        .findBy({ recipient: target.user.email, template: 'two-factor-reset-by-admin' });
      expect(mail).toHaveLength(1);
      expect(mail[0].status).toBe('pending');
      expect(JSON.parse(mail[0].payload)).toMatchObject({ name: target.user.name });
      const overviewItem = (await overview(admin.token)).body.items.find(
        (item: OverviewItem) => item.id === userId,
      );
      expect(overviewItem.state).toBe('inactive');
    });

    it('makes a trusted device useless: the next login asks no code and is not trusted', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const user = await createUser(t, { clientId: client.id });
      const first = await loginToken(t, user.email);
      const { secret } = await activateTwoFactor(t, first);
      const pending = await loginToken(t, user.email);
      const step = await t.http
        .post('/auth/two-factor')
        .set(bearer(pending))
        .send({ code: totpCode(secret, t.clock.now()), trustDevice: true });
      const trustedDeviceToken = step.body.trustedDeviceToken as string;

      await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(admin.token));
      const answer = await login(t, user.email, undefined, { trustedDeviceToken });

      expect(answer.body.stage).toBe('authenticated');
      expect(answer.body.trustedDeviceToken).toBeUndefined();
      expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId: user.id })).toBe(0);
    });

    it('holds the user to setup at the next login when their client requires 2FA', async () => {
      const client = await createClient(t, { requireTwoFactor: true });
      const admin = await createAdministrator(t, client.id);
      const target = await userWithTwoFactorAndTrustedDevice(client.id);

      await t.http.delete(`/admin/users/${target.user.id}/two-factor`).set(bearer(admin.token));
      const answer = await login(t, target.user.email);

      expect(answer.body.stage).toBe('two-factor-setup-required');
      expect(answer.body.notice).toMatchObject({ kind: 'two-factor-required', daysLeft: 0 });
    });

    it('lifts a code lock with the 2FA it resets: the user can set up again at once', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const user = await createUser(t, { clientId: client.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      for (let i = 0; i < 2; i++) {
        const pending = await loginToken(t, user.email);
        for (let j = 0; j < 5; j++) {
          await t.http.post('/auth/two-factor').set(bearer(pending)).send({ code: '000000' });
        }
      }
      expect((await credentialOf(t, user.id))?.lockedUntil).not.toBeNull();

      await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(admin.token));
      const token = await loginToken(t, user.email);
      const setup = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: DEFAULT_PASSWORD });
      t.clock.advance(30_000);
      const confirm = await t.http
        .post('/me/two-factor/confirm')
        .set(bearer(token))
        .send({ code: totpCode(setup.body.secret as string, t.clock.now()) });

      expect(confirm.status).toBe(200);
      expect(await credentialOf(t, user.id)).toMatchObject({
        failedAttempts: 0,
        lockedUntil: null,
      });
    });

    it('takes a code of the new secret in the time step the old secret was last used in', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const user = await createUser(t, { clientId: client.id });
      const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
      const pending = await loginToken(t, user.email);
      await t.http
        .post('/auth/two-factor')
        .set(bearer(pending))
        .send({ code: totpCode(secret, t.clock.now()) });

      // Reset and set up again within the same 30 seconds: the step is one of the old secret.
      await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(admin.token));
      const token = await loginToken(t, user.email);
      const setup = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: DEFAULT_PASSWORD });
      const confirm = await t.http
        .post('/me/two-factor/confirm')
        .set(bearer(token))
        .send({ code: totpCode(setup.body.secret as string, t.clock.now()) });

      expect(confirm.status).toBe(200);
    });

    it('refuses the own account with 403 cannot_deactivate_own_two_factor', async () => {
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id, admin: true });
      const first = await loginToken(t, user.email);
      await activateTwoFactor(t, first);

      const response = await t.http.delete(`/admin/users/${user.id}/two-factor`).set(bearer(first));

      expect([response.status, response.body.error]).toEqual([
        403,
        'cannot_deactivate_own_two_factor',
      ]);
      expect(await t.get(TwoFactorService).isActive(user.id)).toBe(true);
    });

    it("answers 404 not_found for another client's user and leaves their 2FA", async () => {
      const client = await createClient(t);
      const other = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const stranger = await userWithTwoFactorAndTrustedDevice(other.id);

      const response = await t.http
        .delete(`/admin/users/${stranger.user.id}/two-factor`)
        .set(bearer(admin.token));

      expect([response.status, response.body.error]).toEqual([404, 'not_found']);
      expect(await t.get(TwoFactorService).isActive(stranger.user.id)).toBe(true);
      expect((await t.http.get('/me').set(bearer(stranger.token))).status).toBe(200);
    });

    it('answers 409 two_factor_not_active for a user without 2FA', async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);
      const user = await createUser(t, { clientId: client.id });

      const response = await t.http
        .delete(`/admin/users/${user.id}/two-factor`)
        .set(bearer(admin.token));

      expect([response.status, response.body.error]).toEqual([409, 'two_factor_not_active']);
    });

    it("lets a group client's administrator reset a member client's user, not the reverse", async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const groupAdmin = await createAdministrator(t, group.id);
      const memberAdmin = await createAdministrator(t, member.id);
      const memberUser = await userWithTwoFactorAndTrustedDevice(member.id);
      const groupUser = await userWithTwoFactorAndTrustedDevice(group.id);

      const down = await t.http
        .delete(`/admin/users/${memberUser.user.id}/two-factor`)
        .set(bearer(groupAdmin.token));
      const up = await t.http
        .delete(`/admin/users/${groupUser.user.id}/two-factor`)
        .set(bearer(memberAdmin.token));

      expect(down.status).toBe(204);
      expect([up.status, up.body.error]).toEqual([404, 'not_found']);
    });

    it.each(['abc', '1.5', '-1', '99999999999999999999'])(
      'answers 400 or 404 for the id %j, never 500',
      async (id) => {
        const client = await createClient(t);
        const admin = await createAdministrator(t, client.id);

        const response = await t.http
          .delete(`/admin/users/${id}/two-factor`)
          .set(bearer(admin.token));

        expect([400, 404]).toContain(response.status);
      },
    );
  });

  describe('who may call administrator routes', () => {
    const routes: Array<[string, string, object?]> = [
      ['get', '/admin/settings'],
      ['patch', '/admin/settings', { requireTwoFactor: true }],
      ['get', '/admin/users'],
      ['get', '/admin/users/export.csv'],
      [
        'post',
        '/admin/users',
        {
          email: 'new@example.com',
          name: 'N',
          password: 'a long enough password',
          permissions: [],
        },
      ],
      ['patch', '/admin/users/:id', { twoFactorExempt: true }],
      ['delete', '/admin/users/:id/two-factor'],
      ['get', '/admin/audit-events'],
    ];

    async function call(token: string, [method, path, body]: (typeof routes)[number], id: number) {
      const request = (
        t.http as unknown as Record<string, (url: string) => import('supertest').Test>
      )
        [method](path.replace(':id', String(id)))
        .set(bearer(token));

      return body ? request.send(body) : request;
    }

    it.each(routes)(
      'answers %s %s for a user without the admin permissions with 403 forbidden',
      async (...route) => {
        const client = await createClient(t);
        const target = await createUser(t, { clientId: client.id });
        for (const permissions of [[], ['admin'], ['user-management']] as const) {
          const caller = await createUser(t, {
            clientId: client.id,
            permissions: [...permissions],
          });
          const token = await loginToken(t, caller.email);

          const response = await call(token, route, target.id);

          expect([permissions, response.status, response.body.error]).toEqual([
            permissions,
            403,
            'forbidden',
          ]);
        }
        expect(
          (await t.dataSource.getRepository(Client).findOneByOrFail({ id: client.id }))
            .requireTwoFactor,
        ).toBe(false);
      },
    );

    it.each(routes)(
      'answers %s %s without a session with 401 unauthenticated',
      async (...route) => {
        const response = await call('not-a-token', route, 1);

        expect([response.status, response.body.error]).toEqual([401, 'unauthenticated']);
      },
    );
  });

  describe('OpenAPI', () => {
    it('lists the error codes of every administrator route', async () => {
      const document = (await t.http.get('/docs-json')).body;
      const codes = (path: string, method: string): string[] =>
        Object.values(
          document.paths[path][method].responses as Record<string, { description: string }>,
        ).flatMap((response) =>
          response.description.startsWith('Error codes: ')
            ? response.description.slice('Error codes: '.length).split(', ')
            : [],
        );

      expect(codes('/admin/settings', 'patch')).toEqual(
        expect.arrayContaining([
          'validation_failed',
          'two_factor_unavailable_for_client',
          'forbidden',
        ]),
      );
      expect(codes('/admin/users', 'get')).toEqual(
        expect.arrayContaining(['validation_failed', 'not_found', 'forbidden', 'unauthenticated']),
      );
      expect(codes('/admin/users/export.csv', 'get')).toEqual(
        expect.arrayContaining(['validation_failed', 'not_found']),
      );
      expect(codes('/admin/users/{id}', 'patch')).toEqual(
        expect.arrayContaining(['cannot_change_own_exemption', 'last_administrator', 'not_found']),
      );
      expect(codes('/admin/users/{id}/two-factor', 'delete')).toEqual(
        expect.arrayContaining([
          'cannot_deactivate_own_two_factor',
          'not_found',
          'two_factor_not_active',
        ]),
      );
      expect(codes('/admin/audit-events', 'get')).toEqual(
        expect.arrayContaining(['validation_failed', 'not_found', 'forbidden']),
      );
      expect(codes('/admin/settings', 'get')).toEqual(expect.arrayContaining(['forbidden']));
    });
  });
});
