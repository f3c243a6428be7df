import { Client } from '../src/clients/client.entity';
import { User } from '../src/users/user.entity';
import {
  activateTwoFactor,
  appToken,
  bearer,
  createClient,
  createGroup,
  createUser,
  loginToken,
  reloadUser,
  switchClient,
  uniqueEmail,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

interface Tenancy {
  group: Client;
  members: Client[];
  standalone: Client;
  small: Client;
  groupAdmin: User;
  memberAdmin: User;
  standaloneAdmin: User;
  smallAdmin: User;
  groupUser: User;
  memberUsers: User[];
  standaloneUser: User;
}

async function createTenancy(t: TestApp): Promise<Tenancy> {
  const { group, members } = await createGroup(t);
  const standalone = await createClient(t);
  const small = await createClient(t, { kind: 'small' });

  return {
    group,
    members,
    standalone,
    small,
    groupAdmin: await createUser(t, { clientId: group.id, admin: true }),
    memberAdmin: await createUser(t, { clientId: members[0].id, admin: true }),
    standaloneAdmin: await createUser(t, { clientId: standalone.id, admin: true }),
    smallAdmin: await createUser(t, { clientId: small.id, admin: true }),
    groupUser: await createUser(t, { clientId: group.id }),
    memberUsers: [
      await createUser(t, { clientId: members[0].id }),
      await createUser(t, { clientId: members[1].id }),
    ],
    standaloneUser: await createUser(t, { clientId: standalone.id }),
  };
}

function newUser(clientId?: number) {
  return {
    email: uniqueEmail('created'),
    name: 'Created User',
    password: 'a long enough password',
    permissions: [],
    ...(clientId === undefined ? {} : { clientId }),
  };
}

describe('administrator reach across a group and its members', () => {
  let t: TestApp;
  let x: Tenancy;
  let groupAdminToken: string;
  let memberAdminToken: string;
  let standaloneAdminToken: string;

  beforeAll(async () => {
    t = await createTestApp();
    x = await createTenancy(t);
    groupAdminToken = await loginToken(t, x.groupAdmin.email);
    memberAdminToken = await loginToken(t, x.memberAdmin.email);
    standaloneAdminToken = await loginToken(t, x.standaloneAdmin.email);
  });
  afterAll(() => t.close());

  const exempt = (token: string, userId: number) =>
    t.http.patch(`/admin/users/${userId}`).set(bearer(token)).send({ twoFactorExempt: true });

  describe('POST /admin/users', () => {
    it("lets a group client's administrator create users in the group client and each member", async () => {
      const atHome = await t.http.post('/admin/users').set(bearer(groupAdminToken)).send(newUser());
      const inMembers = await Promise.all(
        x.members.map((member) =>
          t.http.post('/admin/users').set(bearer(groupAdminToken)).send(newUser(member.id)),
        ),
      );

      expect(atHome.status).toBe(201);
      expect(atHome.body.clientId).toBe(x.group.id);
      expect(inMembers.map((answer) => [answer.status, answer.body.clientId])).toEqual(
        x.members.map((member) => [201, member.id]),
      );
    });

    it("refuses the group's administrator a client outside the group with 404", async () => {
      for (const client of [x.standalone, x.small]) {
        const answer = await t.http
          .post('/admin/users')
          .set(bearer(groupAdminToken))
          .send(newUser(client.id));

        expect(answer.status).toBe(404);
        expect(answer.body.error).toBe('not_found');
      }
    });

    it("keeps a member client's administrator to that client", async () => {
      const own = await t.http
        .post('/admin/users')
        .set(bearer(memberAdminToken))
        .send(newUser(x.members[0].id));
      const group = await t.http
        .post('/admin/users')
        .set(bearer(memberAdminToken))
        .send(newUser(x.group.id));
      const sibling = await t.http
        .post('/admin/users')
        .set(bearer(memberAdminToken))
        .send(newUser(x.members[1].id));

      expect(own.status).toBe(201);
      expect(group.status).toBe(404);
      expect(sibling.status).toBe(404);
    });
  });

  describe('PATCH /admin/users/:id', () => {
    it("lets a group client's administrator exempt users of the group client and of each member", async () => {
      const targets = [x.groupUser, ...x.memberUsers, x.memberAdmin];

      for (const target of targets) {
        const answer = await exempt(groupAdminToken, target.id);

        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({
          id: target.id,
          twoFactorExempt: true,
          state: 'exempt',
        });
      }
    });

    it("keeps a member client's administrator to that client's users", async () => {
      const own = await exempt(memberAdminToken, x.memberUsers[0].id);
      const refused = await Promise.all(
        [x.groupUser, x.groupAdmin, x.memberUsers[1], x.standaloneUser].map((target) =>
          exempt(memberAdminToken, target.id),
        ),
      );

      expect(own.status).toBe(200);
      for (const answer of refused) {
        expect(answer.status).toBe(404);
        expect(answer.body.error).toBe('not_found');
      }
    });

    it('answers a user out of reach exactly like a user that does not exist', async () => {
      const outOfReach = await exempt(standaloneAdminToken, x.memberUsers[0].id);
      const missing = await exempt(standaloneAdminToken, 987_654);

      expect(outOfReach.status).toBe(404);
      expect(outOfReach.body).toEqual(missing.body);
      expect((await reloadUser(t, x.memberUsers[0].id)).name).toBe(x.memberUsers[0].name);
    });

    it('keeps the reach of the home client while the administrator acts in a member client', async () => {
      const token = await loginToken(t, x.groupAdmin.email);
      await switchClient(t, token, x.members[0].id);

      const sibling = await t.http
        .patch(`/admin/users/${x.memberUsers[1].id}`)
        .set(bearer(token))
        .send({ name: 'Renamed From Member' });
      const home = await t.http
        .patch(`/admin/users/${x.groupUser.id}`)
        .set(bearer(token))
        .send({ name: 'Renamed Too' });
      const outside = await exempt(token, x.standaloneUser.id);

      expect(sibling.status).toBe(200);
      expect(home.status).toBe(200);
      expect(outside.status).toBe(404);
    });

    it("ends every session of a member's user whom the group's administrator deactivates", async () => {
      const user = await createUser(t, { clientId: x.members[1].id });
      const backoffice = await loginToken(t, user.email);
      const app = await appToken(t, user.email, 'ticket-app');

      const answer = await t.http
        .patch(`/admin/users/${user.id}`)
        .set(bearer(groupAdminToken))
        .send({ active: false });

      expect(answer.status).toBe(200);
      expect((await t.http.get('/me').set(bearer(backoffice))).status).toBe(401);
      expect((await t.http.get('/apps/me').set(bearer(app))).status).toBe(401);
    });

    it("refuses the group's administrator to remove a member client's last administrator", async () => {
      const lone = await createUser(t, { clientId: x.members[1].id, admin: true });

      const answer = await t.http
        .patch(`/admin/users/${lone.id}`)
        .set(bearer(groupAdminToken))
        .send({ permissions: [] });

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('last_administrator');
    });
  });

  describe('overview, export, reset and settings', () => {
    const overview = (token: string, query: Record<string, string | number> = {}) =>
      t.http
        .get('/admin/users')
        .query({ pageSize: 100, ...query })
        .set(bearer(token));

    it("shows a group client's administrator the users of the group client and every member", async () => {
      const answer = await overview(groupAdminToken);

      expect(answer.status).toBe(200);
      const clientIds = new Set(
        (answer.body.items as { clientId: number }[]).map((u) => u.clientId),
      );
      expect([...clientIds].sort()).toEqual([x.group.id, ...x.members.map((m) => m.id)].sort());
    });

    it('narrows the overview to one client of the reach with clientId', async () => {
      const answer = await overview(groupAdminToken, { clientId: x.members[1].id });

      expect(answer.status).toBe(200);
      expect(answer.body.items.length).toBeGreaterThan(0);
      for (const item of answer.body.items as { clientId: number }[]) {
        expect(item.clientId).toBe(x.members[1].id);
      }
    });

    it('answers 404 for a clientId outside the reach', async () => {
      const answer = await overview(groupAdminToken, { clientId: x.standalone.id });
      const member = await overview(memberAdminToken, { clientId: x.group.id });

      expect(answer.status).toBe(404);
      expect(member.status).toBe(404);
    });

    it("shows a member client's administrator only that client's users", async () => {
      const answer = await overview(memberAdminToken);

      expect(answer.status).toBe(200);
      for (const item of answer.body.items as { clientId: number }[]) {
        expect(item.clientId).toBe(x.members[0].id);
      }
    });

    it('exports the same reach as CSV', async () => {
      const group = await t.http.get('/admin/users/export.csv').set(bearer(groupAdminToken));
      const member = await t.http.get('/admin/users/export.csv').set(bearer(memberAdminToken));

      expect(group.status).toBe(200);
      expect(group.text).toContain(x.memberUsers[1].email);
      expect(member.text).toContain(x.memberUsers[0].email);
      expect(member.text).not.toContain(x.memberUsers[1].email);
      expect(member.text).not.toContain(x.groupUser.email);
    });

    it("lets a group client's administrator reset a member user's 2FA, ending all their sessions", async () => {
      const user = await createUser(t, { clientId: x.members[0].id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      const app = await appToken(t, user.email);

      const reset = await t.http
        .delete(`/admin/users/${user.id}/two-factor`)
        .set(bearer(groupAdminToken));

      expect(reset.status).toBe(204);
      expect((await t.http.get('/apps/me').set(bearer(app))).status).toBe(401);
    });

    it("refuses a member client's administrator a reset outside that client with 404", async () => {
      const user = await createUser(t, { clientId: x.group.id });
      await activateTwoFactor(t, await loginToken(t, user.email));

      const reset = await t.http
        .delete(`/admin/users/${user.id}/two-factor`)
        .set(bearer(memberAdminToken));

      expect(reset.status).toBe(404);
    });

    it('refuses requireTwoFactor for a small client with 409 two_factor_unavailable_for_client', async () => {
      const token = await loginToken(t, x.smallAdmin.email);

      const on = await t.http
        .patch('/admin/settings')
        .set(bearer(token))
        .send({ requireTwoFactor: true });
      const off = await t.http
        .patch('/admin/settings')
        .set(bearer(token))
        .send({ requireTwoFactor: false });

      expect(on.status).toBe(409);
      expect(on.body.error).toBe('two_factor_unavailable_for_client');
      expect(off.status).toBe(200);
      expect(off.body.requireTwoFactor).toBe(false);
    });

    it("changes the settings of the administrator's home client only", async () => {
      const changed = await t.http
        .patch('/admin/settings')
        .set(bearer(groupAdminToken))
        .send({ requireTwoFactor: true });
      const memberSettings = await t.http.get('/admin/settings').set(bearer(memberAdminToken));

      expect(changed.status).toBe(200);
      expect(changed.body.requireTwoFactor).toBe(true);
      expect(memberSettings.body.requireTwoFactor).toBe(false);
    });
  });
});
