import { PrincipalService } from '../src/auth/principal.service';
import { Client } from '../src/clients/client.entity';
import { MINUTE_MS } from '../src/common/time';
import { hashToken } from '../src/common/tokens';
import { Session } from '../src/sessions/session.entity';
import { User } from '../src/users/user.entity';
import {
  activateTwoFactor,
  bearer,
  createAdministrator,
  createClient,
  createGroup,
  createUser,
  loginToken,
  loginWithCode,
  switchClient,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

// The caller is read in one joined query on every request; these specs pin down that what it
// reads is what the repositories read, and that nothing of it is kept between requests.
describe('the caller of a request', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const sessionOf = (token: string) =>
    t.dataSource.getRepository(Session).findOneByOrFail({ tokenHash: hashToken(token) });

  it('is the session, user and clients as the repositories read them, with its stage', async () => {
    const { group, members } = await createGroup(t, { members: [{ requireTwoFactor: true }] });
    const user = await createUser(t, { clientId: group.id, admin: true });
    const token = await loginToken(t, user.email);
    expect((await switchClient(t, token, members[0].id)).status).toBe(200);

    const caller = await t.get(PrincipalService).resolve(token, false);

    const clients = t.dataSource.getRepository(Client);
    expect(caller).toEqual({
      channel: 'backoffice',
      principal: {
        session: await sessionOf(token),
        user: await t.dataSource.getRepository(User).findOneByOrFail({ id: user.id }),
        homeClient: await clients.findOneByOrFail({ id: group.id }),
        activeClient: await clients.findOneByOrFail({ id: members[0].id }),
        stage: 'authenticated',
        twoFactorActive: false,
        twoFactorActivatedAt: null,
        recoveryCodesLeft: 0,
        viaCookie: false,
      },
    });
    if (caller?.channel !== 'backoffice') {
      throw new Error('expected a backoffice caller');
    }
    expect(caller.principal.user.permissions).toEqual(['admin', 'user-management']);
    expect(caller.principal.user.twoFactorDeadline).toBeInstanceOf(Date);
    expect(caller.principal.session.expiresAt).toBeInstanceOf(Date);
    expect(caller.principal.homeClient.requireTwoFactor).toBe(false);
    expect(caller.principal.activeClient.requireTwoFactor).toBe(true);
  });

  it('falls back to the home client when the active member client left the group', async () => {
    const { group, members } = await createGroup(t);
    const user = await createUser(t, { clientId: group.id });
    const token = await loginToken(t, user.email);
    await switchClient(t, token, members[1].id);
    await t.dataSource.getRepository(Client).update({ id: members[1].id }, { groupId: null });

    const me = await t.http.get('/me').set(bearer(token));

    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ homeClientId: group.id, activeClientId: group.id });
  });

  it('shows when 2FA was activated, and nothing once an administrator reset it', async () => {
    const client = await createClient(t);
    const admin = await createAdministrator(t, client.id);
    const user = await createUser(t, { clientId: client.id });
    const activatedAt = t.clock.now().toISOString();
    const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
    const token = await loginWithCode(t, user.email, secret);

    const before = await t.http.get('/me').set(bearer(token));
    expect(before.body.twoFactor).toMatchObject({ active: true, activatedAt });

    const reset = await t.http
      .delete(`/admin/users/${user.id}/two-factor`)
      .set(bearer(admin.token));
    expect(reset.status).toBe(204);
    // The reset ended the user's sessions; a new login finds 2FA off.
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(401);
    const after = await t.http.get('/me').set(bearer(await loginToken(t, user.email)));
    expect(after.body.twoFactor).toMatchObject({ active: false, activatedAt: null });
  });

  it('asks for the code again when the session lost its second factor in the database', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const { secret } = await activateTwoFactor(t, await loginToken(t, user.email));
    const token = await loginWithCode(t, user.email, secret);
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);

    await t.dataSource
      .getRepository(Session)
      .update({ tokenHash: hashToken(token) }, { secondFactorVerifiedAt: null });
    const me = await t.http.get('/me').set(bearer(token));

    expect(me.status).toBe(403);
    expect(me.body.error).toBe('two_factor_required');
  });

  it('is refused at the next request once the account is deactivated', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const token = await loginToken(t, user.email);
    await t.dataSource.getRepository(User).update({ id: user.id }, { active: false });

    const me = await t.http.get('/me').set(bearer(token));

    expect(me.status).toBe(401);
    expect(me.body.error).toBe('unauthenticated');
  });

  it('writes the idle mark at most once a minute, and ends the session after 30 idle minutes', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const token = await loginToken(t, user.email);
    const issued = (await sessionOf(token)).lastSeenAt;

    t.clock.advance(MINUTE_MS - 1);
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    expect((await sessionOf(token)).lastSeenAt).toEqual(issued);

    t.clock.advance(1);
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    expect((await sessionOf(token)).lastSeenAt).toEqual(t.clock.now());

    t.clock.advance(30 * MINUTE_MS - 1);
    expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    t.clock.advance(30 * MINUTE_MS);
    const idle = await t.http.get('/me').set(bearer(token));
    expect(idle.status).toBe(401);
    expect(idle.body.error).toBe('unauthenticated');
  });

  it('does not exist for an unknown token', async () => {
    expect(await t.get(PrincipalService).resolve('no-such-token', false)).toBeNull();
  });
});
