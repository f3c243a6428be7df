import { AuditEvent } from '../src/audit/audit-event.entity';
import { Statements } from '../src/database/statements';
import { TransactionRunner } from '../src/database/transaction-runner';
import { TwoFactorCredential } from '../src/two-factor/two-factor-credential.entity';
import { User } from '../src/users/user.entity';
import { createClient, createUser } from './support/factories';
import { TestApp, createTestApp } from './support/test-app';

// The plain statements of the hot paths must write and read rows exactly as TypeORM's
// repositories do, on both databases.
describe('plain statements', () => {
  let t: TestApp;
  let statements: Statements;

  beforeAll(async () => {
    t = await createTestApp();
    statements = t.get(Statements);
  });
  afterAll(() => t.close());

  it('insert a row as the repository reads it back, and answer its id', async () => {
    const values = {
      createdAt: new Date('2026-03-02T09:00:00.123Z'),
      event: 'logout',
      actorUserId: 7,
      targetUserId: null,
      clientId: 3,
      ip: '203.0.113.9',
      details: '{"app":"ticket-app"}',
    };

    const id = await statements.insert(t.dataSource.manager, AuditEvent, values);

    expect(typeof id).toBe('number');
    expect(
      await t.dataSource.getRepository(AuditEvent).findOneByOrFail({ id: id as number }),
    ).toEqual({ id, ...values });
  });

  it('insert in the transaction they are given, which can roll them back', async () => {
    const before = await t.dataSource.getRepository(AuditEvent).count();

    await expect(
      t.get(TransactionRunner).run(async (tx) => {
        await statements.insert(tx, AuditEvent, { createdAt: new Date(), event: 'logout' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');

    expect(await t.dataSource.getRepository(AuditEvent).count()).toBe(before);
  });

  it('find one entity with its columns converted (transformers, booleans, dates, big integers)', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id, admin: true });
    const now = new Date('2026-03-02T09:00:00.456Z');
    await t.dataSource.getRepository(TwoFactorCredential).insert({
      userId: user.id,
      secretCiphertext: 'v1.k.a.b.c',
      activatedAt: now,
      pendingSecretCiphertext: null,
      pendingExpiresAt: null,
      lastUsedStep: 59_000_000,
      failedAttempts: 2,
      lockedUntil: null,
      updatedAt: now,
    });

    const manager = t.dataSource.manager;
    expect(await statements.findOne(manager, User, 't.id = ?', [user.id])).toEqual(
      await t.dataSource.getRepository(User).findOneByOrFail({ id: user.id }),
    );
    expect(
      await statements.findOne(manager, TwoFactorCredential, 't.user_id = ?', [user.id]),
    ).toEqual(
      await t.dataSource.getRepository(TwoFactorCredential).findOneByOrFail({ userId: user.id }),
    );
    expect(await statements.findOne(manager, User, 't.id = ?', [0])).toBeNull();
  });

  it('execute a conditional update with dates and answer the rows it changed', async () => {
    const client = await createClient(t);
    const user = await createUser(t, { clientId: client.id });
    const at = new Date('2026-03-02T10:00:00.789Z');
    const update = () =>
      statements.execute(
        t.dataSource.manager,
        'UPDATE users SET two_factor_deadline = ?, updated_at = ? WHERE id = ? AND ' +
          '(two_factor_deadline IS NULL OR two_factor_deadline < ?) AND active = ?',
        [at, at, user.id, at, true],
      );

    expect(await update()).toBe(1);
    expect(await update()).toBe(0);
    const stored = await t.dataSource.getRepository(User).findOneByOrFail({ id: user.id });
    expect(stored.twoFactorDeadline).toEqual(at);
    expect(stored.updatedAt).toEqual(at);
  });
});
