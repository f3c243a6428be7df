import type { Response } from 'supertest';

import { User } from '../src/users/user.entity';
import {
  DEFAULT_PASSWORD,
  activateTwoFactor,
  bearer,
  createClient,
  createTwoFactorUser,
  createUser,
  issueSession,
  loginToken,
  passDeadline,
} from './support/factories';
import { RegisteredRoute, concretePath, registeredRoutes, routeName } from './support/routes';
import { TestApp, createTestApp } from './support/test-app';

// Routes anyone may call; they ignore credentials (the OpenAPI UI is public too).
const PUBLIC = ['POST /auth/login', 'POST /apps/auth/login', 'GET /health'];
const PENDING_MAY_CALL = ['POST /auth/two-factor', 'POST /auth/recovery', 'POST /auth/logout'];
const SETUP_REQUIRED_MAY_CALL = [
  'POST /me/two-factor/setup',
  'POST /me/two-factor/confirm',
  'POST /auth/logout',
  'GET /me',
  'GET /me/clients',
  'POST /me/client',
];

function isAppRoute(route: RegisteredRoute): boolean {
  return route.path.startsWith('/apps/');
}

describe('session stages', () => {
  let t: TestApp;
  let routes: RegisteredRoute[];
  let twoFactorUser: User;
  let setupUser: User;

  beforeAll(async () => {
    t = await createTestApp();
    routes = registeredRoutes(t);
    const client = await createClient(t);
    twoFactorUser = (await createTwoFactorUser(t, { clientId: client.id })).user;
    const requiring = await createClient(t, { requireTwoFactor: true });
    setupUser = await createUser(t, { clientId: requiring.id });
    await loginToken(t, setupUser.email);
    await passDeadline(t, setupUser.id);
  });
  afterAll(() => t.close());

  function call(route: RegisteredRoute, token: string): Promise<Response> {
    const request = t.http[route.method](concretePath(route)).set(bearer(token));

    return route.method === 'get' ? request : request.send({});
  }

  function outcome(answer: Response): string {
    return `${answer.status} ${answer.body?.error ?? ''}`.trim();
  }

  it('finds the routes to check in the router', () => {
    expect(routes.map(routeName)).toEqual(expect.arrayContaining([...PUBLIC, ...PENDING_MAY_CALL]));
    expect(routes.length).toBeGreaterThan(15);
  });

  it('refuses a pending session on every other backoffice route with 403 two_factor_required', async () => {
    const refused: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      const name = routeName(route);
      if (PUBLIC.includes(name) || PENDING_MAY_CALL.includes(name)) {
        continue;
      }
      const answer = await call(route, await issueSession(t, twoFactorUser, { stage: 'pending' }));
      refused.push(`${name}: ${outcome(answer)}`);
      expected.push(
        `${name}: ${isAppRoute(route) ? '403 wrong_channel' : '403 two_factor_required'}`,
      );
    }

    expect(refused).toEqual(expected);
  });

  it('lets a pending session reach the code step, the recovery step and logout', async () => {
    for (const name of PENDING_MAY_CALL) {
      const route = routes.find((r) => routeName(r) === name) as RegisteredRoute;
      const answer = await call(route, await issueSession(t, twoFactorUser, { stage: 'pending' }));
      expect({ name, status: answer.status }).toEqual({
        name,
        status: name === 'POST /auth/logout' ? 204 : 400,
      });
    }
  });

  it('refuses a setup-required session everywhere but setup, confirm, logout and its own user and clients', async () => {
    const stage = await t.http.get('/me').set(bearer(await issueSession(t, setupUser)));
    expect(stage.body.stage).toBe('two-factor-setup-required');
    const answers: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      const name = routeName(route);
      if (PUBLIC.includes(name)) {
        continue;
      }
      const answer = await call(route, await issueSession(t, setupUser));
      if (SETUP_REQUIRED_MAY_CALL.includes(name)) {
        expect({ name, status: answer.status }).toEqual({ name, status: expect.any(Number) });
        expect(outcome(answer)).not.toMatch(/^(401|403)/);
        continue;
      }
      answers.push(`${name}: ${outcome(answer)}`);
      expected.push(
        `${name}: ${isAppRoute(route) ? '403 wrong_channel' : '403 two_factor_setup_required'}`,
      );
    }

    expect(answers).toEqual(expected);
  });

  it('derives the stage at every request: a deadline that passes holds an open session to setup', async () => {
    const requiring = await createClient(t, { requireTwoFactor: true });
    const user = await createUser(t, { clientId: requiring.id });
    const login = await t.http
      .post('/auth/login')
      .send({ email: user.email, password: DEFAULT_PASSWORD });
    const token = login.body.sessionToken as string;
    expect(login.body.stage).toBe('authenticated');
    expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(200);

    await passDeadline(t, user.id);

    expect((await t.http.get('/me').set(bearer(token))).body.stage).toBe(
      'two-factor-setup-required',
    );
    const refused = await t.http.get('/me/trusted-devices').set(bearer(token));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('two_factor_setup_required');
  });

  it('lets a setup-required session that confirms 2FA reach every route from then on', async () => {
    const requiringClient = await createClient(t, { requireTwoFactor: true });
    const user = await createUser(t, { clientId: requiringClient.id });
    await loginToken(t, user.email);
    await passDeadline(t, user.id);
    const token = await loginToken(t, user.email);
    expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(403);

    await activateTwoFactor(t, token);

    const me = await t.http.get('/me').set(bearer(token));
    expect(me.body.stage).toBe('authenticated');
    expect(me.body.twoFactor).toMatchObject({ active: true, required: false, deadline: null });
    expect((await t.http.get('/me/trusted-devices').set(bearer(token))).status).toBe(200);
  });

  it('lets public routes ignore credentials, even a pending session', async () => {
    const pending = await issueSession(t, twoFactorUser, { stage: 'pending' });

    expect((await t.http.get('/health').set(bearer(pending))).status).toBe(200);
    const login = await t.http
      .post('/auth/login')
      .set(bearer(pending))
      .send({ email: setupUser.email, password: DEFAULT_PASSWORD });
    expect(login.status).toBe(200);
  });

  it('refuses an app-channel token on every backoffice route with 403 wrong_channel', async () => {
    const answers: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      const name = routeName(route);
      if (PUBLIC.includes(name) || isAppRoute(route)) {
        continue;
      }
      const answer = await call(route, await issueSession(t, setupUser, { channel: 'ticket-app' }));
      answers.push(`${name}: ${outcome(answer)}`);
      expected.push(`${name}: 403 wrong_channel`);
    }

    expect(answers).toEqual(expected);
  });

  it('asks every non-public route for a session: 401 unauthenticated without one', async () => {
    const answers: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      const name = routeName(route);
      if (PUBLIC.includes(name)) {
        continue;
      }
      const request = t.http[route.method](concretePath(route));
      const answer = route.method === 'get' ? await request : await request.send({});
      answers.push(`${name}: ${outcome(answer)}`);
      expected.push(`${name}: 401 unauthenticated`);
    }

    expect(answers).toEqual(expected);
  });
});
