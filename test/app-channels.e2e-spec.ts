import { Client } from '../src/clients/client.entity';
import { HOUR_MS, MINUTE_MS } from '../src/common/time';
import { APP_CHANNELS } from '../src/sessions/session.entity';
import { TwoFactorService } from '../src/two-factor/two-factor.service';
import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  appLogin,
  appToken,
  auditEvents,
  bearer,
  createClient,
  createUser,
  login,
  loginToken,
  reloadUser,
  uniqueEmail,
} from './support/factories';
import { RegisteredRoute, concretePath, registeredRoutes } from './support/routes';
import { TestApp, createTestApp } from './support/test-app';

// Routes that take no session at all. The OpenAPI UI and document are served outside Nest's
// guards; every other registered route must answer 401 without a token.
const PUBLIC_ROUTES = ['POST /auth/login', 'POST /apps/auth/login', 'GET /health'];

const label = (route: RegisteredRoute) => `${route.method.toUpperCase()} ${route.path}`;

function call(t: TestApp, route: RegisteredRoute) {
  const request = t.http[route.method](concretePath(route));

  return route.method === 'get' ? request : request.send({});
}

describe('app channels', () => {
  let t: TestApp;
  let client: Client;

  beforeAll(async () => {
    t = await createTestApp();
    client = await createClient(t);
  });
  afterAll(() => t.close());

  describe('login', () => {
    it.each(APP_CHANNELS)(
      'logs in to %s with the password only and answers a token scoped to that app',
      async (app) => {
        const user = await createUser(t, { clientId: client.id });

        const answer = await appLogin(t, user.email, app);

        expect(answer.status).toBe(200);
        expect(answer.body.app).toBe(app);
        expect(answer.body.sessionToken).toMatch(/^[A-Za-z0-9_-]{22,}$/);
        expect(answer.body.expiresAt).toBe(
          new Date(t.clock.now().getTime() + 12 * HOUR_MS).toISOString(),
        );
        const me = await t.http.get('/apps/me').set(bearer(answer.body.sessionToken));
        expect(me.status).toBe(200);
        expect(me.body).toEqual({ id: user.id, email: user.email, app });
      },
    );

    it('sets no cookie: app tokens travel as Bearer only', async () => {
      const user = await createUser(t, { clientId: client.id });

      const answer = await appLogin(t, user.email, 'ticket-app');

      expect(answer.status).toBe(200);
      expect(answer.headers['set-cookie']).toBeUndefined();
    });

    it('refuses an app token sent as the session cookie on app routes', async () => {
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email);

      const me = await t.http.get('/apps/me').set('Cookie', `session=${token}`);

      expect(me.status).toBe(401);
      expect(me.body.error).toBe('unauthenticated');
    });

    it.each([['admin-portal'], ['backoffice'], [''], [7]])(
      'refuses app %p with 400 naming the field',
      async (app) => {
        const user = await createUser(t, { clientId: client.id });

        const answer = await t.http
          .post('/apps/auth/login')
          .send({ email: user.email, password: DEFAULT_PASSWORD, app });

        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('validation_failed');
        expect(answer.body.message).toMatch(/^app/);
      },
    );

    it('refuses a login without app and one with unknown fields', async () => {
      const user = await createUser(t, { clientId: client.id });

      const missing = await t.http
        .post('/apps/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD });
      const extra = await t.http
        .post('/apps/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD, app: 'voucher-app', code: '1' });

      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/^app/);
      expect(extra.status).toBe(400);
      expect(extra.body.error).toBe('validation_failed');
    });

    it('answers a wrong password, an unknown email and an inactive account alike', async () => {
      const user = await createUser(t, { clientId: client.id });
      const inactive = await createUser(t, { clientId: client.id });
      await t.dataSource.getRepository(User).update({ id: inactive.id }, { active: false });

      const answers = await Promise.all([
        appLogin(t, user.email, 'voucher-app', 'not the password at all'),
        appLogin(t, uniqueEmail('nobody'), 'voucher-app'),
        appLogin(t, inactive.email, 'voucher-app'),
      ]);

      for (const answer of answers) {
        expect(answer.status).toBe(401);
        expect(answer.body.error).toBe('invalid_credentials');
      }
    });

    it('asks no code of a user with active 2FA', async () => {
      const user = await createUser(t, { clientId: client.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      expect((await login(t, user.email)).body.stage).toBe('two-factor-required');

      const answer = await appLogin(t, user.email, 'web-check-in');

      expect(answer.status).toBe(200);
      const me = await t.http.get('/apps/me').set(bearer(answer.body.sessionToken));
      expect(me.status).toBe(200);
    });

    it('audits a successful app login with the app', async () => {
      const user = await createUser(t, { clientId: client.id });

      await appToken(t, user.email, 'ticket-app');

      const events = (await auditEvents(t, 'app_login.succeeded')).filter(
        (event) => event.targetUserId === user.id,
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actorUserId: user.id,
        clientId: client.id,
        details: { app: 'ticket-app' },
      });
      expect(typeof events[0].ip).toBe('string');
    });

    it('audits a failed app login with the app, for known and unknown emails', async () => {
      const user = await createUser(t, { clientId: client.id });
      const before = (await auditEvents(t, 'app_login.failed')).length;

      await appLogin(t, user.email, 'web-check-in', 'not the password at all');
      await appLogin(t, uniqueEmail('nobody'), 'voucher-app');

      const events = (await auditEvents(t, 'app_login.failed')).slice(before);
      expect(events).toHaveLength(2);
      expect(events[0]).toMatchObject({
        targetUserId: user.id,
        clientId: client.id,
        details: { app: 'web-check-in' },
      });
      expect(events[1]).toMatchObject({ targetUserId: null, details: { app: 'voucher-app' } });
      const backoffice = await auditEvents(t, 'login.failed');
      expect(backoffice.filter((event) => event.targetUserId === user.id)).toHaveLength(0);
    });
  });

  describe('the password counter shared with the backoffice login', () => {
    it('locks both logins for the email after ten failures spread over both', async () => {
      const user = await createUser(t, { clientId: client.id });
      for (let i = 0; i < 5; i++) {
        expect((await login(t, user.email, 'not the password at all')).status).toBe(401);
        expect((await appLogin(t, user.email, 'voucher-app', 'not the password')).status).toBe(401);
      }

      const app = await appLogin(t, user.email, 'voucher-app');
      const backoffice = await t.http
        .post('/auth/login')
        .send({ email: user.email, password: DEFAULT_PASSWORD });

      expect(app.status).toBe(429);
      expect(app.body.error).toBe('too_many_attempts');
      expect(Number(app.headers['retry-after'])).toBeGreaterThan(0);
      expect(backoffice.status).toBe(429);
      expect(backoffice.body.error).toBe('too_many_attempts');
      expect(await auditEvents(t, 'app_login.refused_locked')).toHaveLength(1);
    });
  });

  describe('enforcement deadlines', () => {
    let requiring: Client;

    beforeAll(async () => {
      requiring = await createClient(t, { requireTwoFactor: true });
    });

    it('lets a user past the deadline log in to an app, and the token opens no backoffice route', async () => {
      const user = await createUser(t, { clientId: requiring.id });
      const deadline = new Date(t.clock.now().getTime() - HOUR_MS);
      await t.dataSource
        .getRepository(User)
        .update({ id: user.id }, { twoFactorDeadline: deadline });
      expect((await login(t, user.email)).body.stage).toBe('two-factor-setup-required');

      const token = await appToken(t, user.email, 'voucher-app');

      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(200);
      const me = await t.http.get('/me').set(bearer(token));
      expect(me.status).toBe(403);
      expect(me.body.error).toBe('wrong_channel');
      expect((await reloadUser(t, user.id)).twoFactorDeadline).toEqual(deadline);
    });

    it('sets no deadline for a required user who logs in to an app', async () => {
      const user = await createUser(t, { clientId: requiring.id });

      await appToken(t, user.email, 'ticket-app');

      expect((await reloadUser(t, user.id)).twoFactorDeadline).toBeNull();
    });
  });

  describe('channels kept apart', () => {
    let appTokenOfUser: string;
    let backofficeToken: string;
    let routes: RegisteredRoute[];

    beforeAll(async () => {
      const user = await createUser(t, { clientId: client.id, admin: true });
      appTokenOfUser = await appToken(t, user.email, 'voucher-app');
      backofficeToken = await loginToken(t, user.email);
      routes = registeredRoutes(t).filter(
        (route) => !route.path.includes('*') && !route.path.startsWith('/docs'),
      );
    });

    it('finds the routes on the router, public ones exactly as listed', async () => {
      const open: string[] = [];
      for (const route of routes) {
        const answer = await call(t, route);
        if (answer.status !== 401) {
          open.push(label(route));
        }
      }

      expect(routes.length).toBeGreaterThan(15);
      expect(open.sort()).toEqual([...PUBLIC_ROUTES].sort());
    });

    it('refuses an app token on every backoffice route with 403 wrong_channel', async () => {
      const backoffice = routes.filter(
        (route) => !route.path.startsWith('/apps/') && !PUBLIC_ROUTES.includes(label(route)),
      );
      expect(backoffice.length).toBeGreaterThan(10);

      const answers: Record<string, string> = {};
      for (const route of backoffice) {
        const answer = await call(t, route).set(bearer(appTokenOfUser));
        answers[label(route)] = `${answer.status} ${answer.body.error}`;
      }

      expect(answers).toEqual(
        Object.fromEntries(backoffice.map((route) => [label(route), '403 wrong_channel'])),
      );
    });

    it('refuses an app token sent as the session cookie on every backoffice route', async () => {
      const backoffice = routes.filter(
        (route) => !route.path.startsWith('/apps/') && !PUBLIC_ROUTES.includes(label(route)),
      );

      const answers: Record<string, string> = {};
      for (const route of backoffice) {
        const answer = await call(t, route).set('Cookie', `session=${appTokenOfUser}`);
        answers[label(route)] = `${answer.status} ${answer.body.error}`;
      }

      expect(answers).toEqual(
        Object.fromEntries(backoffice.map((route) => [label(route), '403 wrong_channel'])),
      );
    });

    it('refuses a backoffice token on every app route with 403 wrong_channel', async () => {
      const appRoutes = routes.filter(
        (route) => route.path.startsWith('/apps/') && !PUBLIC_ROUTES.includes(label(route)),
      );
      expect(appRoutes.map(label).sort()).toEqual(['GET /apps/me', 'POST /apps/auth/logout']);

      for (const route of appRoutes) {
        const answer = await call(t, route).set(bearer(backofficeToken));

        expect(`${label(route)} ${answer.status} ${answer.body.error}`).toBe(
          `${label(route)} 403 wrong_channel`,
        );
      }
      expect((await t.http.get('/me').set(bearer(backofficeToken))).status).toBe(200);
    });
  });

  describe('app sessions', () => {
    it('end after 30 minutes idle', async () => {
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email);

      t.clock.advance(29 * MINUTE_MS);
      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(200);
      t.clock.advance(29 * MINUTE_MS);
      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(200);
      t.clock.advance(30 * MINUTE_MS);
      const idle = await t.http.get('/apps/me').set(bearer(token));

      expect(idle.status).toBe(401);
      expect(idle.body.error).toBe('unauthenticated');
    });

    it('end 12 hours after login however busy', async () => {
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email);

      for (let elapsed = 0; elapsed < 12 * HOUR_MS - 20 * MINUTE_MS; elapsed += 20 * MINUTE_MS) {
        t.clock.advance(20 * MINUTE_MS);
        expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(200);
      }
      t.clock.advance(20 * MINUTE_MS);

      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(401);
    });

    it('end at logout, which leaves backoffice sessions alone and is audited with the app', async () => {
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email, 'web-check-in');
      const backoffice = await loginToken(t, user.email);

      const logout = await t.http.post('/apps/auth/logout').set(bearer(token));

      expect(logout.status).toBe(204);
      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(401);
      expect((await t.http.post('/apps/auth/logout').set(bearer(token))).status).toBe(401);
      expect((await t.http.get('/me').set(bearer(backoffice))).status).toBe(200);
      const events = (await auditEvents(t, 'logout')).filter(
        (event) => event.targetUserId === user.id,
      );
      expect(events).toHaveLength(1);
      expect(events[0].details).toEqual({ app: 'web-check-in' });
    });

    it('end when the password changes', async () => {
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email);
      const backoffice = await loginToken(t, user.email);

      const change = await t.http
        .post('/me/password')
        .set(bearer(backoffice))
        .send({ currentPassword: DEFAULT_PASSWORD, newPassword: 'another long password' });

      expect(change.status).toBe(204);
      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(401);
      expect((await appLogin(t, user.email, 'voucher-app', 'another long password')).status).toBe(
        200,
      );
    });

    it('end when an administrator deactivates the account', async () => {
      const admin = await createUser(t, { clientId: client.id, admin: true });
      const user = await createUser(t, { clientId: client.id });
      const token = await appToken(t, user.email);

      const update = await t.http
        .patch(`/admin/users/${user.id}`)
        .set(bearer(await loginToken(t, admin.email)))
        .send({ active: false });

      expect(update.status).toBe(200);
      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(401);
      expect((await appLogin(t, user.email)).status).toBe(401);
    });

    it("end when the user's 2FA is reset", async () => {
      const user = await createUser(t, { clientId: client.id });
      await activateTwoFactor(t, await loginToken(t, user.email));
      const token = await appToken(t, user.email);

      await t.get(TwoFactorService).resetForUser(user, client, null);

      expect((await t.http.get('/apps/me').set(bearer(token))).status).toBe(401);
      expect((await appLogin(t, user.email)).status).toBe(200);
    });
  });
});

describe('app channels: the per-IP login throttle', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_RATE_LIMIT: '4' } });
  });
  afterAll(() => t.close());

  it('counts app logins and backoffice logins from one address together', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    expect((await login(t, user.email)).status).toBe(200);
    expect((await login(t, user.email)).status).toBe(200);
    expect((await appLogin(t, user.email, 'voucher-app')).status).toBe(200);
    expect((await appLogin(t, user.email, 'ticket-app')).status).toBe(200);

    const app = await appLogin(t, user.email, 'web-check-in');
    const backoffice = await login(t, user.email);

    expect(app.status).toBe(429);
    expect(app.body.error).toBe('too_many_attempts');
    expect(Number(app.headers['retry-after'])).toBeGreaterThan(0);
    expect(backoffice.status).toBe(429);
  });
});
