import { Client } from '../src/clients/client.entity';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../src/common/time';
import { TwoFactorCredential } from '../src/two-factor/two-factor-credential.entity';
import { User } from '../src/users/user.entity';
import {
  activateTwoFactor,
  auditEvents,
  bearer,
  createClient,
  createGroup,
  createUser,
  login,
  loginToken,
  loginWithCode,
  reloadUser,
  switchClient,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';
import { totpCode } from './support/totp-reference';

const summary = (client: Client) => ({ id: client.id, name: client.name, kind: client.kind });

describe('cross-client users', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('GET /me/clients', () => {
    it('lists the home group client first, then each member', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      // The home client stays first wherever the session is.
      await switchClient(t, token, members[1].id);

      const answer = await t.http.get('/me/clients').set(bearer(token));

      expect(answer.status).toBe(200);
      expect(answer.body).toEqual([group, ...members].map(summary));
    });

    it.each([['member'], ['standard'], ['small']] as const)(
      'lists only the home client for a user of a %s client',
      async (kind) => {
        const { members } = await createGroup(t);
        const home = kind === 'member' ? members[0] : await createClient(t, { kind });
        const user = await createUser(t, { clientId: home.id });

        const answer = await t.http.get('/me/clients').set(bearer(await loginToken(t, user.email)));

        expect(answer.status).toBe(200);
        expect(answer.body).toEqual([summary(home)]);
      },
    );
  });

  describe('POST /me/client', () => {
    it('moves the session to a member client without a new login, and back', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);

      const switched = await switchClient(t, token, members[0].id);

      expect(switched.status).toBe(200);
      expect(switched.body).toMatchObject({
        id: user.id,
        homeClientId: group.id,
        activeClientId: members[0].id,
        stage: 'authenticated',
      });
      const me = await t.http.get('/me').set(bearer(token));
      expect(me.body.activeClientId).toBe(members[0].id);
      expect(me.body.homeClientId).toBe(group.id);

      const back = await switchClient(t, token, group.id);
      expect(back.status).toBe(200);
      expect((await t.http.get('/me').set(bearer(token))).body.activeClientId).toBe(group.id);
    });

    it('keeps the active client per session: other sessions and new logins start at home', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const first = await loginToken(t, user.email);
      const second = await loginToken(t, user.email);

      await switchClient(t, first, members[1].id);
      const third = await loginToken(t, user.email);

      expect((await t.http.get('/me').set(bearer(first))).body.activeClientId).toBe(members[1].id);
      expect((await t.http.get('/me').set(bearer(second))).body.activeClientId).toBe(group.id);
      expect((await t.http.get('/me').set(bearer(third))).body.activeClientId).toBe(group.id);
    });

    it('refuses a client outside the group, a member of another group and an unknown id', async () => {
      const { group } = await createGroup(t);
      const other = await createGroup(t);
      const standalone = await createClient(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);

      for (const clientId of [standalone.id, other.group.id, other.members[0].id, 999_999]) {
        const answer = await switchClient(t, token, clientId);

        expect(answer.status).toBe(403);
        expect(answer.body.error).toBe('client_not_accessible');
      }
      expect((await t.http.get('/me').set(bearer(token))).body.activeClientId).toBe(group.id);
    });

    it('keeps a member client to its own users: they cannot switch to the group or a sibling', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: members[0].id, admin: true });
      const token = await loginToken(t, user.email);

      for (const clientId of [group.id, members[1].id]) {
        const answer = await switchClient(t, token, clientId);

        expect(answer.status).toBe(403);
        expect(answer.body.error).toBe('client_not_accessible');
      }
      const stay = await switchClient(t, token, members[0].id);
      expect(stay.status).toBe(200);
      expect(stay.body.activeClientId).toBe(members[0].id);
    });

    it('refuses a standard-client user any other client', async () => {
      const home = await createClient(t);
      const elsewhere = await createClient(t);
      const user = await createUser(t, { clientId: home.id });

      const answer = await switchClient(t, await loginToken(t, user.email), elsewhere.id);

      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('client_not_accessible');
    });

    it('refuses a session that still waits for its code', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      const pending = await login(t, user.email);

      const answer = await switchClient(t, pending.body.sessionToken, members[0].id);

      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('two_factor_required');
    });

    it.each([['2'], [0], [1.5], [null]])(
      'refuses clientId %p with 400 naming the field',
      async (clientId) => {
        const { group } = await createGroup(t);
        const user = await createUser(t, { clientId: group.id });

        const answer = await t.http
          .post('/me/client')
          .set(bearer(await loginToken(t, user.email)))
          .send({ clientId });

        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('validation_failed');
        expect(answer.body.message).toMatch(/^clientId/);
      },
    );

    it('audits the switch and what the session does afterwards under the active client', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);

      await switchClient(t, token, members[0].id);
      await t.http.post('/auth/logout').set(bearer(token));

      const switches = (await auditEvents(t, 'client.switched')).filter(
        (event) => event.actorUserId === user.id,
      );
      expect(switches).toHaveLength(1);
      expect(switches[0]).toMatchObject({ clientId: members[0].id, details: { from: group.id } });
      const logouts = (await auditEvents(t, 'logout')).filter(
        (event) => event.actorUserId === user.id,
      );
      expect(logouts.map((event) => event.clientId)).toEqual([members[0].id]);
    });

    it('answers a switch to the active client with the caller as is, writing nothing', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await switchClient(t, token, members[0].id);
      const before = await t.http.get('/me').set(bearer(token));

      const again = await switchClient(t, token, members[0].id);

      expect(again.status).toBe(200);
      expect(again.body).toEqual(before.body);
      const switches = (await auditEvents(t, 'client.switched')).filter(
        (event) => event.actorUserId === user.id,
      );
      expect(switches).toHaveLength(1);
    });

    it('falls back to the home client when the active member leaves the group', async () => {
      const { group, members } = await createGroup(t);
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await switchClient(t, token, members[0].id);

      await t.dataSource.getRepository(Client).update({ id: members[0].id }, { groupId: null });

      const me = await t.http.get('/me').set(bearer(token));
      expect(me.body.activeClientId).toBe(group.id);
      const clients = await t.http.get('/me/clients').set(bearer(token));
      expect(clients.body).toEqual([summary(group), summary(members[1])]);
      expect((await switchClient(t, token, members[0].id)).body.error).toBe(
        'client_not_accessible',
      );
    });
  });

  describe('2FA in member clients', () => {
    let group: Client;
    let members: Client[];

    beforeAll(async () => {
      ({ group, members } = await createGroup(t));
    });

    it('refuses setup in a member client and allows it in the group client', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await switchClient(t, token, members[0].id);

      const refused = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: 'a long enough password' });

      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('two_factor_managed_in_group_client');
      await switchClient(t, token, group.id);
      const allowed = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: 'a long enough password' });
      expect(allowed.status).toBe(201);
      expect(allowed.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    });

    it('refuses to confirm a setup in a member client, and confirms it in the group client', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      const setup = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: 'a long enough password' });
      await switchClient(t, token, members[1].id);
      const code = totpCode(setup.body.secret, t.clock.now());

      const refused = await t.http.post('/me/two-factor/confirm').set(bearer(token)).send({ code });

      expect(refused.status).toBe(409);
      expect(refused.body.error).toBe('two_factor_managed_in_group_client');
      await switchClient(t, token, group.id);
      const confirmed = await t.http
        .post('/me/two-factor/confirm')
        .set(bearer(token))
        .send({ code });
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.recoveryCodes).toHaveLength(10);
    });

    it('refuses deactivation and recovery-code renewal in a member client, without counting the code', async () => {
      const user = await createUser(t, { clientId: group.id });
      const { secret, recoveryCodes } = await activateTwoFactor(t, await loginToken(t, user.email));
      const token = await loginWithCode(t, user.email, secret);
      await switchClient(t, token, members[0].id);
      const code = totpCode(secret, t.clock.now());

      const answers = [
        await t.http.delete('/me/two-factor').set(bearer(token)).send({ code }),
        await t.http
          .delete('/me/two-factor')
          .set(bearer(token))
          .send({ recoveryCode: recoveryCodes[0] }),
        await t.http.post('/me/two-factor/recovery-codes').set(bearer(token)).send({ code }),
      ];

      for (const answer of answers) {
        expect(answer.status).toBe(409);
        expect(answer.body.error).toBe('two_factor_managed_in_group_client');
      }
      const credential = await t.dataSource
        .getRepository(TwoFactorCredential)
        .findOneByOrFail({ userId: user.id });
      expect(credential.failedAttempts).toBe(0);
      await switchClient(t, token, group.id);
      const renewed = await t.http
        .post('/me/two-factor/recovery-codes')
        .set(bearer(token))
        .send({ code });
      expect(renewed.status).toBe(200);
      expect((await t.http.get('/me').set(bearer(token))).body.twoFactor.active).toBe(true);
    });

    it('asks no second code after a switch: the verified session holds in every member', async () => {
      const user = await createUser(t, { clientId: group.id });
      const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
      const token = await loginWithCode(t, user.email, secret);

      for (const member of members) {
        const switched = await switchClient(t, token, member.id);

        expect(switched.status).toBe(200);
        expect(switched.body.stage).toBe('authenticated');
        expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(200);
      }
    });

    it('lets a trusted device skip the code, and a switch afterwards asks none', async () => {
      const user = await createUser(t, { clientId: group.id });
      const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
      const pending = await loginToken(t, user.email);
      const step = await t.http
        .post('/auth/two-factor')
        .set(bearer(pending))
        .send({ code: totpCode(secret, t.clock.now()), trustDevice: true });
      const trustedDeviceToken = step.body.trustedDeviceToken as string;

      const trusted = await login(t, user.email, undefined, { trustedDeviceToken });
      expect(trusted.body.stage).toBe('authenticated');
      const switched = await switchClient(t, trusted.body.sessionToken, members[1].id);

      expect(switched.status).toBe(200);
      expect(switched.body.stage).toBe('authenticated');
      const devices = await t.http
        .get('/me/trusted-devices')
        .set(bearer(trusted.body.sessionToken));
      expect(devices.body).toHaveLength(1);
    });
  });

  describe('2FA requirements', () => {
    let group: Client;
    let requiring: Client;
    let plain: Client;

    beforeAll(async () => {
      ({
        group,
        members: [requiring, plain],
      } = await createGroup(t, { members: [{ requireTwoFactor: true }, {}] }));
    });

    it('sets the deadline when a cross-client user switches into a requiring member', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();

      const switched = await switchClient(t, token, requiring.id);

      const deadline = new Date(t.clock.now().getTime() + 10 * DAY_MS);
      expect(switched.status).toBe(200);
      expect(switched.body.stage).toBe('authenticated');
      expect(switched.body.twoFactor).toMatchObject({
        required: true,
        deadline: deadline.toISOString(),
        active: false,
        available: true,
      });
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toEqual(deadline);
    });

    it('sets no deadline for a member that does not require 2FA, nor for the group client', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);

      const switched = await switchClient(t, token, plain.id);

      expect(switched.body.twoFactor).toMatchObject({ required: false, deadline: null });
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();
    });

    it('keeps an existing deadline when switching again later', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await switchClient(t, token, requiring.id);
      const first = (await reloadUser(t, user.id)).twoFactorDeadline;

      t.clock.advance(DAY_MS);
      await switchClient(t, token, group.id);
      await switchClient(t, token, requiring.id);

      expect((await reloadUser(t, user.id)).twoFactorDeadline).toEqual(first);
    });

    it('holds the switched session to setup past the deadline, with the way back to the group open', async () => {
      const user = await createUser(t, { clientId: group.id });
      await switchClient(t, await loginToken(t, user.email), requiring.id);
      t.clock.advance(10 * DAY_MS + HOUR_MS);
      const token = await loginToken(t, user.email);

      const switched = await switchClient(t, token, requiring.id);

      expect(switched.status).toBe(200);
      expect(switched.body.stage).toBe('two-factor-setup-required');
      const held = await t.http.get('/me/trusted-devices').set(bearer(token));
      expect(held.status).toBe(403);
      expect(held.body.error).toBe('two_factor_setup_required');
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
      expect((await t.http.get('/me/clients').set(bearer(token))).status).toBe(200);
      const setupHere = await t.http
        .post('/me/two-factor/setup')
        .set(bearer(token))
        .send({ password: 'a long enough password' });
      expect(setupHere.body.error).toBe('two_factor_managed_in_group_client');

      const back = await switchClient(t, token, group.id);
      expect(back.status).toBe(200);
      expect(back.body.stage).toBe('authenticated');
      await activateTwoFactor(t, token);
      const again = await switchClient(t, token, requiring.id);
      expect(again.body.stage).toBe('authenticated');
      expect(again.body.twoFactor).toMatchObject({ active: true, required: false, deadline: null });
    });

    it('holds a session already in the member once its deadline passes, at the next request', async () => {
      const user = await createUser(t, { clientId: group.id });
      const token = await loginToken(t, user.email);
      await switchClient(t, token, requiring.id);
      await t.dataSource
        .getRepository(User)
        .update(
          { id: user.id },
          { twoFactorDeadline: new Date(t.clock.now().getTime() + MINUTE_MS) },
        );
      expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(200);

      t.clock.advance(2 * MINUTE_MS);

      const held = await t.http.get('/me/trusted-devices').set(bearer(token));
      expect(held.status).toBe(403);
      expect(held.body.error).toBe('two_factor_setup_required');
      expect((await t.http.get('/me').set(bearer(token))).body.stage).toBe(
        'two-factor-setup-required',
      );
    });

    it("applies the group client's own requirement in every member", async () => {
      const strict = await createGroup(t, { requireTwoFactor: true });
      const user = await createUser(t, { clientId: strict.group.id });
      const first = await login(t, user.email);
      expect(first.body.notice).toMatchObject({ kind: 'two-factor-required', daysLeft: 10 });
      t.clock.advance(10 * DAY_MS);
      const token = await loginToken(t, user.email);

      const switched = await switchClient(t, token, strict.members[0].id);

      expect(switched.body.stage).toBe('two-factor-setup-required');
      expect(switched.body.twoFactor.required).toBe(true);
    });

    it("applies no member's requirement to an exempt cross-client user", async () => {
      const user = await createUser(t, { clientId: group.id });
      await t.dataSource.getRepository(User).update({ id: user.id }, { twoFactorExempt: true });

      const switched = await switchClient(t, await loginToken(t, user.email), requiring.id);

      expect(switched.body.twoFactor).toMatchObject({
        required: false,
        exempt: true,
        deadline: null,
      });
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();
    });

    it('asks no code and sets no deadline when a user with 2FA switches into a requiring member', async () => {
      const user = await createUser(t, { clientId: group.id });
      const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
      const token = await loginWithCode(t, user.email, secret);

      const switched = await switchClient(t, token, requiring.id);

      expect(switched.body.stage).toBe('authenticated');
      expect(switched.body.twoFactor).toMatchObject({ active: true, required: false });
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();
    });
  });
});
