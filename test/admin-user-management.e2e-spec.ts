import { TrustedDevice } from '../src/two-factor/trusted-device.entity';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  bearer,
  createClientWithAdministrator,
  createClient,
  createTwoFactorUser,
  createUser,
  currentCode,
  login,
  loginToken,
  pendingToken,
  sendCode,
  uniqueEmail,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

const ADMIN = ['admin', 'user-management'];

describe('administrators manage users', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  function createUserAs(token: string, body: Record<string, unknown>) {
    return t.http.post('/admin/users').set(bearer(token)).send(body);
  }

  function updateUserAs(token: string, id: number | string, body: Record<string, unknown>) {
    return t.http.patch(`/admin/users/${id}`).set(bearer(token)).send(body);
  }

  function newUser(overrides: Record<string, unknown> = {}) {
    return {
      email: uniqueEmail(),
      name: 'Grace Hopper',
      password: DEFAULT_PASSWORD,
      permissions: [],
      ...overrides,
    };
  }

  describe('POST /admin/users', () => {
    it("creates a user in the administrator's client who can then log in", async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const body = newUser();

      const answer = await createUserAs(token, body);

      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({
        id: expect.any(Number),
        email: body.email,
        name: 'Grace Hopper',
        clientId: client.id,
        active: true,
        permissions: [],
        state: 'inactive',
        deadline: null,
      });
      expect(answer.body).not.toHaveProperty('password');
      expect(answer.body).not.toHaveProperty('passwordHash');
      expect((await login(t, body.email)).status).toBe(200);
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: answer.body.id });
      expect(stored.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('stores the email trimmed and in lower case', async () => {
      const { token } = await createClientWithAdministrator(t);
      const email = uniqueEmail('Mixed');

      const answer = await createUserAs(token, newUser({ email: `  ${email.toUpperCase()} ` }));

      expect(answer.status).toBe(201);
      expect(answer.body.email).toBe(email.toLowerCase());
      expect((await login(t, email.toLowerCase())).status).toBe(200);
    });

    it('answers 409 email_taken for an email in use, whatever its case and spaces', async () => {
      const { token } = await createClientWithAdministrator(t);
      const email = uniqueEmail('taken');
      expect((await createUserAs(token, newUser({ email }))).status).toBe(201);

      const again = await createUserAs(token, newUser({ email: ` ${email.toUpperCase()}` }));

      expect(again.status).toBe(409);
      expect(again.body).toEqual({
        statusCode: 409,
        error: 'email_taken',
        message: expect.any(String),
      });
    });

    it('answers 409 email_taken for an email used in another client', async () => {
      const first = await createClientWithAdministrator(t);
      const second = await createClientWithAdministrator(t);
      const email = uniqueEmail('elsewhere');
      await createUserAs(first.token, newUser({ email }));

      expect((await createUserAs(second.token, newUser({ email }))).body.error).toBe('email_taken');
    });

    it('keeps apart emails that differ only in accents: each is its own account', async () => {
      const { token } = await createClientWithAdministrator(t);
      const tag = uniqueEmail('x').split('@')[0];
      const plain = `rene-${tag}@example.com`;
      const accented = `rené-${tag}@example.com`;

      const first = await createUserAs(token, newUser({ email: plain }));
      const second = await createUserAs(
        token,
        newUser({ email: accented, password: 'another long password' }),
      );

      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      const asAccented = await login(t, accented, 'another long password');
      expect(asAccented.status).toBe(200);
      const me = await t.http.get('/me').set(bearer(asAccented.body.sessionToken));
      expect(me.body.email).toBe(accented);
      expect((await login(t, accented, DEFAULT_PASSWORD)).status).toBe(401);
    });

    it.each([
      ['a password of 11 characters', { password: 'p'.repeat(11) }, 'password'],
      ['a password of 257 characters', { password: 'p'.repeat(257) }, 'password'],
      ['no password', { password: undefined }, 'password'],
      ['an email that is not one', { email: 'grace' }, 'email'],
      ['an empty name', { name: '   ' }, 'name'],
      ['a name of 201 characters', { name: 'n'.repeat(201) }, 'name'],
      ['an unknown permission', { permissions: ['root'] }, 'permissions'],
      ['a repeated permission', { permissions: ['admin', 'admin'] }, 'permissions'],
      ['permissions as a string', { permissions: 'admin' }, 'permissions'],
      ['a clientId that is not an integer', { clientId: 'one' }, 'clientId'],
      ['a null clientId', { clientId: null }, 'clientId'],
    ])('answers 400 naming the field for %s', async (_case, overrides, field) => {
      const { token } = await createClientWithAdministrator(t);

      const answer = await createUserAs(token, newUser(overrides));

      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('validation_failed');
      expect(answer.body.message).toContain(field);
    });

    it('accepts passwords of 12 and of 256 characters', async () => {
      const { token } = await createClientWithAdministrator(t);

      for (const password of ['p'.repeat(12), 'p'.repeat(256)]) {
        const body = newUser({ password });
        expect((await createUserAs(token, body)).status).toBe(201);
        expect((await login(t, body.email, password)).status).toBe(200);
      }
    });

    it("creates a user in a member client of a group client's administrator", async () => {
      const { client: group, token } = await createClientWithAdministrator(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });

      const answer = await createUserAs(token, newUser({ clientId: member.id }));

      expect(answer.status).toBe(201);
      expect(answer.body.clientId).toBe(member.id);
    });

    it('answers 404 not_found for a client out of reach', async () => {
      const { token } = await createClientWithAdministrator(t);
      const elsewhere = await createClient(t);

      const answer = await createUserAs(token, newUser({ clientId: elsewhere.id }));

      expect(answer.status).toBe(404);
      expect(answer.body.error).toBe('not_found');
    });

    it.each([
      ['no permission', []],
      ['admin alone', ['admin']],
      ['user-management alone', ['user-management']],
    ] as const)('answers 403 forbidden to a user with %s', async (_case, permissions) => {
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id, permissions: [...permissions] });
      const token = await loginToken(t, user.email);
      const email = uniqueEmail('refused');

      const answer = await createUserAs(token, newUser({ email }));

      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('forbidden');
      expect(await t.dataSource.getRepository(User).countBy({ email })).toBe(0);
    });
  });

  describe('PATCH /admin/users/:id', () => {
    it('renames a user, trimming the name', async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });

      const answer = await updateUserAs(token, user.id, { name: '  Ada Lovelace ' });

      expect(answer.status).toBe(200);
      expect(answer.body.name).toBe('Ada Lovelace');
      const me = await t.http.get('/me').set(bearer(await loginToken(t, user.email)));
      expect(me.body.name).toBe('Ada Lovelace');
    });

    it('grants and withdraws the administrator permissions, effective at the next request', async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });
      const userToken = await loginToken(t, user.email);

      const granted = await updateUserAs(token, user.id, { permissions: ADMIN });
      expect(granted.status).toBe(200);
      expect([...granted.body.permissions].sort()).toEqual(ADMIN);
      expect((await createUserAs(userToken, newUser())).status).toBe(201);

      const withdrawn = await updateUserAs(token, user.id, { permissions: [] });
      expect(withdrawn.body.permissions).toEqual([]);
      expect((await createUserAs(userToken, newUser())).body.error).toBe('forbidden');
    });

    it('deactivates a user: every session ends and they cannot log in', async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });
      const userToken = await loginToken(t, user.email);
      const app = await t.http
        .post('/apps/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD, app: 'voucher-app' });
      const unknown = await login(t, uniqueEmail('nobody'));

      const answer = await updateUserAs(token, user.id, { active: false });

      expect(answer.status).toBe(200);
      expect(answer.body.active).toBe(false);
      expect((await t.http.get('/me').set(bearer(userToken))).body.error).toBe('unauthenticated');
      const appMe = await t.http.get('/apps/me').set(bearer(app.body.sessionToken));
      expect(appMe.body.error).toBe('unauthenticated');
      const refused = await login(t, user.email);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(unknown.body);
    });

    it('revokes the trusted devices of a deactivated user, so reactivation asks for the code', async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const { user, secret } = await createTwoFactorUser(t, { clientId: client.id });
      const pending = await pendingToken(t, user.email);
      const trusted = await sendCode(t, pending, currentCode(t, secret), { trustDevice: true });
      const deviceToken = trusted.body.trustedDeviceToken as string;
      expect(deviceToken).toEqual(expect.any(String));

      await updateUserAs(token, user.id, { active: false });
      await updateUserAs(token, user.id, { active: true });

      const again = await login(t, user.email, DEFAULT_PASSWORD, {
        trustedDeviceToken: deviceToken,
      });
      expect(again.body.stage).toBe('two-factor-required');
      expect(await t.dataSource.getRepository(TrustedDevice).countBy({ userId: user.id })).toBe(0);
    });

    it('lets a reactivated user log in again', async () => {
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });
      await updateUserAs(token, user.id, { active: false });

      const answer = await updateUserAs(token, user.id, { active: true });

      expect(answer.body.active).toBe(true);
      expect((await login(t, user.email)).status).toBe(200);
    });

    it('answers 409 last_administrator when the last administrator would lose the permissions', async () => {
      const { admin, token } = await createClientWithAdministrator(t);

      for (const permissions of [[], ['admin'], ['user-management']]) {
        const answer = await updateUserAs(token, admin.id, { permissions });
        expect(answer.status).toBe(409);
        expect(answer.body.error).toBe('last_administrator');
      }
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: admin.id });
      expect([...stored.permissions].sort()).toEqual(ADMIN);
    });

    it('answers 409 last_administrator when the last administrator would be deactivated', async () => {
      const { admin, token } = await createClientWithAdministrator(t);

      const answer = await updateUserAs(token, admin.id, { active: false });

      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('last_administrator');
      expect((await t.http.get('/me').set(bearer(token))).status).toBe(200);
    });

    it('demotes an administrator while another one remains', async () => {
      const { client, admin, token } = await createClientWithAdministrator(t);
      const second = await createUser(t, { clientId: client.id, admin: true });

      expect((await updateUserAs(token, second.id, { permissions: [] })).status).toBe(200);
      expect((await updateUserAs(token, admin.id, { active: false })).body.error).toBe(
        'last_administrator',
      );
    });

    it('lets exactly one of two administrators demoting each other at once succeed', async () => {
      const { client, admin, token } = await createClientWithAdministrator(t);
      const second = await createUser(t, { clientId: client.id, admin: true });
      const secondToken = await loginToken(t, second.email);

      const answers = await Promise.all([
        updateUserAs(token, second.id, { permissions: [] }),
        updateUserAs(secondToken, admin.id, { permissions: [] }),
      ]);

      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      // The other is refused: no longer an administrator, or the last one left.
      const refused = answers.find((answer) => answer.status !== 200);
      expect(['403 forbidden', '409 last_administrator']).toContain(
        `${refused?.status} ${refused?.body.error}`,
      );
      const administrators = (
        await t.dataSource.getRepository(User).findBy({ clientId: client.id })
      ).filter((user) => user.permissions.length === 2);
      expect(administrators).toHaveLength(1);
    });

    it('answers 404 not_found for a user of another client, as for one that does not exist', async () => {
      const { token } = await createClientWithAdministrator(t);
      const other = await createClient(t);
      const stranger = await createUser(t, { clientId: other.id });

      const foreign = await updateUserAs(token, stranger.id, { name: 'Taken over' });
      const missing = await updateUserAs(token, 99_999_999, { name: 'Nobody' });

      expect(foreign.status).toBe(404);
      expect(foreign.body).toEqual(missing.body);
      expect(foreign.body.error).toBe('not_found');
      const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: stranger.id });
      expect(stored.name).not.toBe('Taken over');
    });

    it("reaches the users of a group client's member clients", async () => {
      const { client: group, token } = await createClientWithAdministrator(t, { kind: 'group' });
      const member = await createClient(t, { groupId: group.id });
      const user = await createUser(t, { clientId: member.id });

      expect((await updateUserAs(token, user.id, { name: 'Member' })).status).toBe(200);
    });

    it('answers 403 forbidden to a user without the administrator permissions', async () => {
      const client = await createClient(t);
      const user = await createUser(t, { clientId: client.id, permissions: ['admin'] });
      const target = await createUser(t, { clientId: client.id });
      const token = await loginToken(t, user.email);

      const answer = await updateUserAs(token, target.id, { active: false });

      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('forbidden');
    });

    it('answers 403 cannot_change_own_exemption to an administrator exempting themselves', async () => {
      const { admin, token } = await createClientWithAdministrator(t);

      const answer = await updateUserAs(token, admin.id, { twoFactorExempt: true });

      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('cannot_change_own_exemption');
    });

    it.each([
      ['a null name', { name: null }, 'name'],
      ['a null active', { active: null }, 'active'],
      ['active as a string', { active: 'false' }, 'active'],
      ['an unknown field', { email: 'new@example.com' }, 'email'],
      ['an unknown permission', { permissions: ['owner'] }, 'permissions'],
    ])('answers 400 naming the field for %s', async (_case, body, field) => {
      const { client, token } = await createClientWithAdministrator(t);
      const user = await createUser(t, { clientId: client.id });

      const answer = await updateUserAs(token, user.id, body);

      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('validation_failed');
      expect(answer.body.message).toContain(field);
    });

    it.each(['abc', '1.5', '-1x', '0x10', '1e1', '%2012'])(
      'answers 400 naming id for the id %s',
      async (id) => {
        const { token } = await createClientWithAdministrator(t);

        const answer = await updateUserAs(token, id, { name: 'Someone' });

        expect(answer.status).toBe(400);
        expect(answer.body.message).toContain('id');
      },
    );

    it('answers 404 for ids beyond any integer column', async () => {
      const { token } = await createClientWithAdministrator(t);

      for (const id of ['2147483647', '2147483648', '99999999999999999999', '9'.repeat(400), '0']) {
        const answer = await updateUserAs(token, id, { name: 'Someone' });
        expect(answer.status).toBe(404);
      }
    });
  });
});
