import { AuditEvent } from '../src/audit/audit-event.entity';
import { createClientCommand, createUserCommand } from '../src/cli/directory-commands';
import { Client } from '../src/clients/client.entity';
import { User } from '../src/users/user.entity';
import { TestApp, createTestApp } from './support/test-app';

// The operator's commands that create clients and users: the API's rules, and an audit trail.
describe('client:create and user:create', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  async function run(
    command: typeof createClientCommand,
    options: Record<string, string | boolean>,
  ): Promise<string[]> {
    const lines: string[] = [];
    await command.run(t.app, options, (line) => lines.push(line));

    return lines;
  }

  const createdEvents = (event: string) =>
    t.dataSource.getRepository(AuditEvent).find({ where: { event }, order: { id: 'ASC' } });

  it('audits the first start: the default client and its administrator, by bootstrap', async () => {
    const admin = await t.dataSource
      .getRepository(User)
      .findOneByOrFail({ email: 'bootstrap@example.com' });

    const clients = (await createdEvents('client.created')).filter(
      (event) => event.clientId === admin.clientId,
    );
    const users = (await createdEvents('user.created')).filter(
      (event) => event.targetUserId === admin.id,
    );

    expect(clients).toHaveLength(1);
    expect(JSON.parse(clients[0].details ?? '{}')).toEqual({
      by: 'bootstrap',
      kind: 'standard',
      groupId: null,
    });
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ actorUserId: null, clientId: admin.clientId });
    expect(JSON.parse(users[0].details ?? '{}')).toEqual({
      by: 'bootstrap',
      permissions: 'admin,user-management',
    });
  });

  it('audits a client and a user created on the command line, without the password', async () => {
    const clientLines = await run(createClientCommand, { name: '  Harbour  ', kind: 'group' });
    const client = await t.dataSource
      .getRepository(Client)
      .findOneByOrFail({ id: Number(/client (\d+)/.exec(clientLines[0])?.[1]) });
    const userLines = await run(createUserCommand, {
      client: String(client.id),
      email: ' Cli.Person@Example.com ',
      name: 'Cli Person',
      admin: true,
    });
    const user = await t.dataSource
      .getRepository(User)
      .findOneByOrFail({ email: 'cli.person@example.com' });

    expect(client.name).toBe('Harbour');
    expect(userLines[0]).toBe(
      `user ${user.id} created: cli.person@example.com in client ${client.id}`,
    );
    const password = /^password: (.+)$/.exec(userLines[1])?.[1] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(12);
    const clientEvent = (await createdEvents('client.created')).find(
      (event) => event.clientId === client.id,
    );
    expect(JSON.parse(clientEvent?.details ?? '{}')).toEqual({
      by: 'cli',
      kind: 'group',
      groupId: null,
    });
    const userEvents = (await createdEvents('user.created')).filter(
      (event) => event.targetUserId === user.id,
    );
    expect(userEvents).toHaveLength(1);
    expect(userEvents[0]).toMatchObject({ actorUserId: null, clientId: client.id });
    expect(userEvents[0].details).toBe('{"by":"cli","permissions":"admin,user-management"}');
    expect(userEvents[0].details).not.toContain(password);
  });

  it.each([
    ['a line break', 'a\nb'],
    ['a NUL', 'a\u0000b'],
    ['a line separator', 'a\u2028b'],
    ['a paragraph separator', 'a\u2029b'],
    ['a right-to-left override', 'gnp.\u202Eexe'],
    ['a left-to-right isolate', 'a\u2066b'],
  ])('refuses %s in a name, as the API does, and creates nothing', async (_what, name) => {
    const users = await t.dataSource.getRepository(User).count();
    const clients = await t.dataSource.getRepository(Client).count();

    await expect(run(createClientCommand, { name })).rejects.toThrow(
      'name: must not contain control characters',
    );
    await expect(
      run(createUserCommand, { client: '1', email: 'ctl@example.com', name }),
    ).rejects.toThrow('name: must not contain control characters');
    expect(await t.dataSource.getRepository(User).count()).toBe(users);
    expect(await t.dataSource.getRepository(Client).count()).toBe(clients);
  });

  it('refuses names over 200 characters, bad emails, short passwords and unknown kinds', async () => {
    const long = 'b'.repeat(201);

    await expect(run(createClientCommand, { name: long })).rejects.toThrow(
      'name: must be 1 to 200 characters',
    );
    await expect(run(createClientCommand, { name: 'X', kind: 'huge' })).rejects.toThrow(
      'kind: must be one of standard, group, small',
    );
    await expect(
      run(createUserCommand, { client: '1', email: 'long@example.com', name: long }),
    ).rejects.toThrow('name: must be 1 to 200 characters');
    await expect(run(createUserCommand, { client: '1', email: 'not-an-email' })).rejects.toThrow(
      'email: must be an email address',
    );
    await expect(
      run(createUserCommand, { client: '1', email: 'short@example.com', password: 'short' }),
    ).rejects.toThrow('password: must be 12 to 256 characters');
    expect(await t.dataSource.getRepository(Client).countBy({ name: long })).toBe(0);
  });
});
