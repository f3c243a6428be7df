import { DAY_MS, SECOND_MS } from '../src/common/time';
import { User } from '../src/users/user.entity';
import {
  activateTwoFactor,
  bearer,
  createAdministrator,
  createClient,
  createUser,
  login,
  loginToken,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

const DAY0 = new Date('2026-03-02T09:00:00.000Z');
const at = (days: number, ms = 0): Date => new Date(DAY0.getTime() + days * DAY_MS + ms);

describe('client settings and 2FA deadlines', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => {
    t.clock.set(DAY0);
    t.clock.moveOnEachRead(0);
  });

  async function requireTwoFactor(adminToken: string, value: boolean) {
    const response = await t.http
      .patch('/admin/settings')
      .set(bearer(adminToken))
      .send({ requireTwoFactor: value });
    expect(response.status).toBe(200);

    return response.body;
  }

  async function deadlineOf(userId: number): Promise<Date | null> {
    const user = await t.dataSource.getRepository(User).findOneByOrFail({ id: userId });

    return user.twoFactorDeadline;
  }

  // A client that requires 2FA since day 0, with its administrator's session of day 0.
  async function requiringClient() {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    await requireTwoFactor(admin.token, true);

    return { client, admin };
  }

  describe('GET and PATCH /admin/settings', () => {
    it("answers the home client's setting and the configured grace period", async () => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      const response = await t.http.get('/admin/settings').set(bearer(admin.token));

      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        clientId: client.id,
        requireTwoFactor: false,
        gracePeriodDays: 10,
        twoFactorAvailable: true,
      });
    });

    it('turns the requirement on and off for the home client only', async () => {
      const client = await createClient(t);
      const other = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      expect(await requireTwoFactor(admin.token, true)).toMatchObject({
        clientId: client.id,
        requireTwoFactor: true,
      });
      const read = await t.http.get('/admin/settings').set(bearer(admin.token));
      expect(read.body.requireTwoFactor).toBe(true);
      const otherAdmin = await createAdministrator(t, other.id);
      const otherRead = await t.http.get('/admin/settings').set(bearer(otherAdmin.token));
      expect(otherRead.body.requireTwoFactor).toBe(false);

      expect(await requireTwoFactor(admin.token, false)).toMatchObject({ requireTwoFactor: false });
    });

    it('refuses to require 2FA in a small client with 409 two_factor_unavailable_for_client', async () => {
      const small = await createClient(t, { kind: 'small' });
      const admin = await createAdministrator(t, small.id);

      const on = await t.http
        .patch('/admin/settings')
        .set(bearer(admin.token))
        .send({ requireTwoFactor: true });
      const read = await t.http.get('/admin/settings').set(bearer(admin.token));

      expect(on.status).toBe(409);
      expect(on.body.error).toBe('two_factor_unavailable_for_client');
      expect(read.body).toMatchObject({ requireTwoFactor: false, twoFactorAvailable: false });
      expect(await requireTwoFactor(admin.token, false)).toMatchObject({ requireTwoFactor: false });
    });

    it.each([
      [{}, 'requireTwoFactor'],
      [{ requireTwoFactor: 'yes' }, 'requireTwoFactor'],
      [{ requireTwoFactor: null }, 'requireTwoFactor'],
      [{ requireTwoFactor: 1 }, 'requireTwoFactor'],
      [{ requireTwoFactor: true, gracePeriodDays: 3 }, 'gracePeriodDays'],
    ])('answers 400 validation_failed naming the field for %j', async (body, field) => {
      const client = await createClient(t);
      const admin = await createAdministrator(t, client.id);

      const response = await t.http.patch('/admin/settings').set(bearer(admin.token)).send(body);

      expect(response.status).toBe(400);
      expect(response.body.error).toBe('validation_failed');
      expect(response.body.message).toContain(field);
    });
  });

  describe('deadlines', () => {
    it('policy on at day 0, login at day 1: deadline day 11 and a notice with 10 days left', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));

      const answer = await login(t, user.email);

      expect(answer.status).toBe(200);
      expect(answer.body.stage).toBe('authenticated');
      expect(answer.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(11).toISOString(),
        daysLeft: 10,
      });
      expect(await deadlineOf(user.id)).toEqual(at(11));
    });

    it('shows the whole grace period for a fresh deadline on a clock that moves during the login', async () => {
      const { client } = await requiringClient();
      const users = [];
      for (let i = 0; i < 3; i++) {
        users.push(await createUser(t, { clientId: client.id }));
      }
      t.clock.set(at(1));
      t.clock.moveOnEachRead(1);

      const answers = await Promise.all(users.map((user) => login(t, user.email)));

      for (const [i, answer] of answers.entries()) {
        expect(answer.body.notice).toMatchObject({ kind: 'two-factor-required', daysLeft: 10 });
        const stored = await deadlineOf(users[i].id);
        expect(answer.body.notice).toMatchObject({ deadline: stored?.toISOString() });
      }
    });

    it('keeps the deadline at later logins and counts whole days left, rounded up', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, user.email);

      t.clock.set(at(5, 60 * 60 * 1000));
      const later = await login(t, user.email);
      t.clock.set(at(11, -SECOND_MS));
      const lastSecond = await login(t, user.email);

      expect(later.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(11).toISOString(),
        daysLeft: 6,
      });
      expect(lastSecond.body.notice).toMatchObject({ deadline: at(11).toISOString(), daysLeft: 1 });
      expect(lastSecond.body.stage).toBe('authenticated');
    });

    it('lets the user postpone the setup and work normally until the deadline', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      const first = await loginToken(t, user.email);

      const dayOne = await t.http.get('/me/trusted-devices').set(bearer(first));
      t.clock.set(at(10, 23 * 60 * 60 * 1000));
      const lastDay = await loginToken(t, user.email);
      const beforeDeadline = await t.http.get('/me/trusted-devices').set(bearer(lastDay));

      expect(dayOne.status).toBe(200);
      expect(beforeDeadline.status).toBe(200);
      expect((await t.http.get('/me').set(bearer(lastDay))).body.stage).toBe('authenticated');
    });

    it('restricts an open session on its next request once the deadline has passed', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, user.email);
      t.clock.set(at(11, -30 * SECOND_MS));
      const token = await loginToken(t, user.email);
      expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(200);

      t.clock.set(at(11, SECOND_MS));
      const restricted = await t.http.get('/me/trusted-devices').set(bearer(token));
      const me = await t.http.get('/me').set(bearer(token));
      const clients = await t.http.get('/me/clients').set(bearer(token));
      const switchHome = await t.http
        .post('/me/client')
        .set(bearer(token))
        .send({ clientId: client.id });
      const password = await t.http
        .post('/me/password')
        .set(bearer(token))
        .send({ currentPassword: 'a long enough password', newPassword: 'another long password' });

      expect(restricted.status).toBe(403);
      expect(restricted.body.error).toBe('two_factor_setup_required');
      expect(me.status).toBe(200);
      expect(me.body.stage).toBe('two-factor-setup-required');
      expect(me.body.twoFactor).toMatchObject({ required: true, deadline: at(11).toISOString() });
      expect(clients.status).toBe(200);
      expect(switchHome.status).toBe(200);
      expect(password.status).toBe(403);
      expect(password.body.error).toBe('two_factor_setup_required');
    });

    it('answers a login after the deadline with stage two-factor-setup-required and 0 days left', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, user.email);
      t.clock.set(at(12));

      const answer = await login(t, user.email);

      expect(answer.body.stage).toBe('two-factor-setup-required');
      expect(answer.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(11).toISOString(),
        daysLeft: 0,
      });
    });

    it('restores full access once 2FA is set up, and asks no more deadline', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, user.email);
      t.clock.set(at(12));
      const token = await loginToken(t, user.email);
      expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(403);

      await activateTwoFactor(t, token);
      const after = await t.http.get('/me/trusted-devices').set(bearer(token));
      const next = await login(t, user.email);

      expect(after.status).toBe(200);
      expect(await deadlineOf(user.id)).toBeNull();
      expect(next.body.stage).toBe('two-factor-required');
      expect(next.body.notice).toBeNull();
    });

    it('never restricts an exempt user and recommends 2FA at each login', async () => {
      const { client, admin } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      const exempt = await t.http
        .patch(`/admin/users/${user.id}`)
        .set(bearer(admin.token))
        .send({ twoFactorExempt: true });
      expect(exempt.status).toBe(200);

      t.clock.set(at(1));
      const first = await login(t, user.email);
      t.clock.set(at(30));
      const late = await login(t, user.email);
      const works = await t.http.get('/me/trusted-devices').set(bearer(late.body.sessionToken));

      for (const answer of [first, late]) {
        expect(answer.body.stage).toBe('authenticated');
        expect(answer.body.notice).toEqual({ kind: 'two-factor-recommended' });
      }
      expect(works.status).toBe(200);
      expect(await deadlineOf(user.id)).toBeNull();
    });

    it('clears a running deadline on exemption and sets a new one at the next login after it ends', async () => {
      const { client, admin } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, user.email);
      // Sessions last 12 hours: the administrator logs in again on day 1.
      const adminToken = await loginToken(t, admin.user.email);
      const patch = (twoFactorExempt: boolean) =>
        t.http.patch(`/admin/users/${user.id}`).set(bearer(adminToken)).send({ twoFactorExempt });

      t.clock.set(at(1, 60 * 1000));
      expect((await patch(true)).body).toMatchObject({ state: 'exempt', deadline: null });
      t.clock.set(at(1, 2 * 60 * 1000));
      const unexempted = await patch(false);
      t.clock.set(at(4));
      const answer = await login(t, user.email);

      expect(unexempted.body).toMatchObject({ state: 'inactive', deadline: null });
      expect(answer.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(14).toISOString(),
        daysLeft: 10,
      });
    });

    it('clears open deadlines when the setting is turned off, and starts over when it is on again', async () => {
      const { client } = await requiringClient();
      const pending = await createUser(t, { clientId: client.id });
      const overdue = await createUser(t, { clientId: client.id });
      t.clock.set(at(1));
      await login(t, pending.email);
      await login(t, overdue.email);
      t.clock.set(at(12));
      const held = await loginToken(t, overdue.email);
      expect((await t.http.get('/me/trusted-devices').set(bearer(held))).status).toBe(403);

      const administrator = await createAdministratorOf(client.id);
      const admin = await loginToken(t, administrator.email);
      const off = await requireTwoFactor(admin, false);
      const freed = await t.http.get('/me/trusted-devices').set(bearer(held));
      const relogin = await login(t, pending.email);

      expect(off.requireTwoFactor).toBe(false);
      expect(await deadlineOf(pending.id)).toBeNull();
      expect(await deadlineOf(overdue.id)).toBeNull();
      expect(freed.status).toBe(200);
      expect(relogin.body.notice).toBeNull();

      t.clock.set(at(13));
      await requireTwoFactor(await loginToken(t, administrator.email), true);
      const again = await login(t, overdue.email);
      expect(again.body.stage).toBe('authenticated');
      expect(again.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(23).toISOString(),
        daysLeft: 10,
      });
    });

    it("leaves the deadlines of other clients' users alone when a client turns the setting off", async () => {
      const first = await requiringClient();
      const second = await requiringClient();
      const user = await createUser(t, { clientId: second.client.id });
      t.clock.set(at(1));
      await login(t, user.email);

      const admin = await loginToken(t, (await createAdministratorOf(first.client.id)).email);
      await requireTwoFactor(admin, false);

      expect(await deadlineOf(user.id)).toEqual(at(11));
    });

    it('holds a user who deactivates their own 2FA while required to setup at once', async () => {
      const { client } = await requiringClient();
      const user = await createUser(t, { clientId: client.id });
      const first = await loginToken(t, user.email);
      const { secret } = await activateTwoFactor(t, first);

      const off = await t.http
        .delete('/me/two-factor')
        .set(bearer(first))
        .send({ code: totpCode(secret, t.clock.now()) });
      const sameSession = await t.http.get('/me/trusted-devices').set(bearer(first));
      const next = await login(t, user.email);

      expect(off.status).toBe(204);
      expect(sameSession.status).toBe(403);
      expect(sameSession.body.error).toBe('two_factor_setup_required');
      expect(next.body.stage).toBe('two-factor-setup-required');
      expect(next.body.notice).toMatchObject({ kind: 'two-factor-required', daysLeft: 0 });
    });
  });

  describe('group clients', () => {
    it('gives a cross-client user a deadline when they switch to a member that requires 2FA', async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const memberAdmin = await createAdministrator(t, member.id);
      await requireTwoFactor(memberAdmin.token, true);
      const user = await createUser(t, { clientId: group.id });
      t.clock.set(at(1));

      const answer = await login(t, user.email);
      const switched = await t.http
        .post('/me/client')
        .set(bearer(answer.body.sessionToken))
        .send({ clientId: member.id });

      expect(answer.body.notice).toBeNull();
      expect(switched.body.twoFactor).toMatchObject({
        required: true,
        deadline: at(11).toISOString(),
      });
    });

    it("clears the deadline a group's user got in a member that lifts the requirement", async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const memberAdmin = await createAdministrator(t, member.id);
      await requireTwoFactor(memberAdmin.token, true);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await t.http.post('/me/client').set(bearer(token)).send({ clientId: member.id });
      expect(await deadlineOf(user.id)).not.toBeNull();

      await requireTwoFactor(memberAdmin.token, false);

      expect(await deadlineOf(user.id)).toBeNull();
    });

    it("keeps a group user's deadline while another member of the group still requires 2FA", async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const strict = await createClient(t, { groupId: group.id });
      const memberAdmin = await createAdministrator(t, member.id);
      const strictAdmin = await createAdministrator(t, strict.id);
      await requireTwoFactor(memberAdmin.token, true);
      await requireTwoFactor(strictAdmin.token, true);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await t.http.post('/me/client').set(bearer(token)).send({ clientId: strict.id });

      await requireTwoFactor(memberAdmin.token, false);

      expect(await deadlineOf(user.id)).toEqual(at(10));
    });
    it('holds a group user who loses 2FA to setup at once in a member that requires it', async () => {
      const group = await createClient(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id, requireTwoFactor: true });
      const groupAdmin = await createAdministrator(t, group.id);
      const user = await createUser(t, { clientId: group.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      const resetAt = t.clock.now();

      const reset = await t.http
        .delete(`/admin/users/${user.id}/two-factor`)
        .set(bearer(groupAdmin.token));
      t.clock.set(at(1));
      const answer = await login(t, user.email);
      const switched = await t.http
        .post('/me/client')
        .set(bearer(answer.body.sessionToken))
        .send({ clientId: member.id });

      expect(reset.status).toBe(204);
      expect(answer.body.stage).toBe('authenticated');
      expect(switched.body.stage).toBe('two-factor-setup-required');
      expect(switched.body.twoFactor.deadline).toBe(resetAt.toISOString());
    });
  });

  describe('configured grace period', () => {
    let short: TestApp;

    beforeAll(async () => {
      short = await createTestApp({ env: { TWO_FACTOR_GRACE_DAYS: '3' } });
    });
    afterAll(() => short.close());

    it('uses TWO_FACTOR_GRACE_DAYS for the deadline and reports it in the settings', async () => {
      short.clock.set(DAY0);
      const client = await createClient(short, { requireTwoFactor: true });
      const admin = await createUser(short, { clientId: client.id, admin: true });
      const user = await createUser(short, { clientId: client.id });

      const adminLogin = await login(short, admin.email);
      const settings = await short.http
        .get('/admin/settings')
        .set(bearer(adminLogin.body.sessionToken));
      short.clock.set(at(1));
      const answer = await login(short, user.email);

      expect(settings.body.gracePeriodDays).toBe(3);
      expect(answer.body.notice).toEqual({
        kind: 'two-factor-required',
        deadline: at(4).toISOString(),
        daysLeft: 3,
      });
    });
  });

  function createAdministratorOf(clientId: number): Promise<User> {
    return createUser(t, { clientId, admin: true });
  }
});
