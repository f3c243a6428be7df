import type { INestApplicationContext } from '@nestjs/common';

import { Environment } from '../config/environment';
import { CliUsageError } from '../src/cli/cli-command';
import { COMMANDS } from '../src/cli/commands';
import { DEMO_PASSWORD, demoSeedCommand } from '../src/cli/demo-seed';
import { Client } from '../src/clients/client.entity';
import { DAY_MS } from '../src/common/time';
import { User, isAdministrator } from '../src/users/user.entity';
import {
  appLogin,
  auditEvents,
  bearer,
  login,
  loginToken,
  reloadUser,
  switchClient,
} from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

async function seed(t: TestApp, options: Record<string, string> = {}): Promise<string[]> {
  const lines: string[] = [];
  await demoSeedCommand.run(t.app, options, (line) => lines.push(line));

  return lines;
}

describe('demo:seed', () => {
  let t: TestApp;
  let output: string[];
  let clients: Client[];
  let users: User[];

  beforeAll(async () => {
    t = await createTestApp();
    output = await seed(t);
    // The bootstrap client and its administrator come first; the demo set follows.
    clients = (await t.dataSource.getRepository(Client).find({ order: { id: 'ASC' } })).slice(1);
    users = await t.dataSource
      .getRepository(User)
      .find({ where: clients.map((client) => ({ clientId: client.id })), order: { id: 'ASC' } });
  });
  afterAll(() => t.close());

  const byName = (name: string) => clients.find((client) => client.name === name) as Client;
  const usersOf = (client: Client) => users.filter((user) => user.clientId === client.id);

  it('is registered as a command', () => {
    expect(COMMANDS.map((command) => command.name)).toContain('demo:seed');
  });

  it('creates a group with two members, a standalone standard client and a small client', () => {
    const group = byName('Harbour Group');

    expect(clients.map((client) => [client.name, client.kind, client.groupId])).toEqual([
      ['Harbour Group', 'group', null],
      ['Harbour North', 'standard', group.id],
      ['Harbour South', 'standard', group.id],
      ['Lakeside Hotel', 'standard', null],
      ['Corner Kiosk', 'small', null],
    ]);
    expect(byName('Harbour North').requireTwoFactor).toBe(true);
    expect(clients.filter((client) => client.requireTwoFactor)).toHaveLength(1);
  });

  it('creates an administrator and at least two other users in each client', () => {
    for (const client of clients) {
      const members = usersOf(client);

      expect(members.filter(isAdministrator)).toHaveLength(1);
      expect(members.filter((user) => !isAdministrator(user)).length).toBeGreaterThanOrEqual(2);
    }
    expect(usersOf(byName('Harbour Group')).map((user) => user.email)).toContain(
      'cross@demo.example',
    );
  });

  it('audits each created client and user as the work of demo:seed', async () => {
    const byDemo = async (event: string) =>
      (await auditEvents(t, event)).filter((row) => row.details?.by === 'demo:seed');

    expect((await byDemo('user.created')).map((event) => event.targetUserId)).toEqual(
      users.map((user) => user.id),
    );
    expect((await byDemo('client.created')).map((event) => event.clientId)).toEqual(
      clients.map((client) => client.id),
    );
  });

  it('prints the shared password, every login and curl lines with the real client ids', () => {
    const text = output.join('\n');

    expect(output[0]).toBe(`Demo data created. Every demo user's password: ${DEMO_PASSWORD}`);
    for (const user of users) {
      expect(text).toContain(user.email);
    }
    expect(text).toContain('B=http://localhost:3000');
    expect(text).toContain(`-d '{"clientId":${byName('Harbour North').id}}'`);
    expect(text).toContain(
      `-d '{"email":"cross@demo.example","password":"${DEMO_PASSWORD}"}' | jq -r .sessionToken`,
    );
    expect(text).toContain('"app":"voucher-app"');
  });

  it('gives logins that work for the cross-client flow', async () => {
    const token = await loginToken(t, 'cross@demo.example', DEMO_PASSWORD);

    const listed = await t.http.get('/me/clients').set(bearer(token));
    const switched = await switchClient(t, token, byName('Harbour North').id);

    expect(listed.body.map((client: { name: string }) => client.name)).toEqual([
      'Harbour Group',
      'Harbour North',
      'Harbour South',
    ]);
    expect(switched.status).toBe(200);
    expect(switched.body.twoFactor).toMatchObject({
      required: true,
      deadline: new Date(t.clock.now().getTime() + 10 * DAY_MS).toISOString(),
    });
    const cross = users.find((user) => user.email === 'cross@demo.example') as User;
    expect((await reloadUser(t, cross.id)).twoFactorDeadline).not.toBeNull();
  });

  it('gives logins that work for the small-client and app flows', async () => {
    const small = await login(t, 'kim.kiosk@demo.example', DEMO_PASSWORD);
    const me = await t.http.get('/me').set(bearer(small.body.sessionToken));
    const app = await appLogin(t, 'gus.south@demo.example', 'voucher-app', DEMO_PASSWORD);

    expect(small.body).toMatchObject({ stage: 'authenticated', notice: null });
    expect(me.body.twoFactor.available).toBe(false);
    expect(app.status).toBe(200);
    expect((await t.http.get('/apps/me').set(bearer(app.body.sessionToken))).body.app).toBe(
      'voucher-app',
    );
  });

  it('refuses a second run clearly and changes nothing', async () => {
    const before = await t.dataSource.getRepository(User).count();

    const again = seed(t);

    await expect(again).rejects.toBeInstanceOf(CliUsageError);
    await expect(again).rejects.toThrow(/already there.*nothing was changed/);
    expect(await t.dataSource.getRepository(User).count()).toBe(before);
    expect(await t.dataSource.getRepository(Client).count()).toBe(clients.length + 1);
  });

  it('refuses a password outside 12 to 256 characters', async () => {
    await expect(seed(t, { password: 'short' })).rejects.toThrow(/--password must be 12 to 256/);
  });

  it('refuses to run with NODE_ENV=production', async () => {
    const production = { ...t.env, NODE_ENV: 'production' } as Environment;
    const app = {
      get: (type: unknown) => (type === Environment ? production : t.app.get(type as never)),
    } as unknown as INestApplicationContext;

    const run = demoSeedCommand.run(app, {}, () => undefined);

    await expect(run).rejects.toThrow(/refuses NODE_ENV=production/);
  });
});

describe('demo:seed with a chosen password', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { PORT: '3211' } });
  });
  afterAll(() => t.close());

  it('gives every user that password and quotes it safely in the curl lines', async () => {
    const password = `it's "quoted" \\ too`;

    const lines = await seed(t, { password });

    expect((await login(t, 'admin.lakeside@demo.example', password)).status).toBe(200);
    expect((await login(t, 'admin.lakeside@demo.example', DEMO_PASSWORD)).status).toBe(401);
    const text = lines.join('\n');
    expect(text).toContain('B=http://localhost:3211');
    expect(text).toContain(`"password":"it'\\''s \\"quoted\\" \\\\ too"`);
  });
});
