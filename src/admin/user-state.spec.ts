import { DataSource } from 'typeorm';

import { MIGRATIONS } from '../../migrations';
import { Client } from '../clients/client.entity';
import { ENTITIES } from '../database/entities';
import { TwoFactorCredential } from '../two-factor/two-factor-credential.entity';
import { User } from '../users/user.entity';
import { USER_STATE_SQL, UserState, userState } from './user-state';

const NOW = new Date('2026-03-12T09:00:00.000Z');
const MS = 1;

const DEADLINES: Record<string, Date | null> = {
  none: null,
  'a day ago': new Date(NOW.getTime() - 86_400_000),
  'a millisecond ago': new Date(NOW.getTime() - MS),
  'exactly now': NOW,
  'in a millisecond': new Date(NOW.getTime() + MS),
  'in a day': new Date(NOW.getTime() + 86_400_000),
};

type CredentialShape = 'none' | 'pending setup' | 'active' | 'secret without activation';

function credentialRow(
  userId: number,
  shape: CredentialShape,
): Partial<TwoFactorCredential> | null {
  const base = {
    userId,
    secretCiphertext: null,
    activatedAt: null,
    pendingSecretCiphertext: null,
    pendingExpiresAt: null,
    lastUsedStep: null,
    failedAttempts: 0,
    lockedUntil: null,
    updatedAt: NOW,
  };
  switch (shape) {
    case 'none':
      return null;
    case 'pending setup':
      return { ...base, pendingSecretCiphertext: 'v1:pending', pendingExpiresAt: NOW };
    case 'active':
      return { ...base, secretCiphertext: 'v1:secret', activatedAt: NOW };
    case 'secret without activation':
      return { ...base, secretCiphertext: 'v1:secret' };
  }
}

describe('USER_STATE_SQL', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: ENTITIES,
      migrations: MIGRATIONS,
      logging: false,
    });
    await dataSource.initialize();
    await dataSource.runMigrations();
  });
  afterAll(() => dataSource.destroy());

  it('gives every user the state userState() gives, deadline edges included', async () => {
    const client = await dataSource.getRepository(Client).save({
      name: 'Client',
      kind: 'standard',
      groupId: null,
      requireTwoFactor: true,
      createdAt: NOW,
      updatedAt: NOW,
    });
    const expected = new Map<number, UserState>();
    let n = 0;
    for (const exempt of [false, true]) {
      for (const deadline of Object.values(DEADLINES)) {
        for (const shape of [
          'none',
          'pending setup',
          'active',
          'secret without activation',
        ] as const) {
          n += 1;
          const user = await dataSource.getRepository(User).save({
            clientId: client.id,
            email: `user-${n}@example.com`,
            name: 'User',
            passwordHash: 'x',
            permissions: [],
            active: true,
            twoFactorExempt: exempt,
            twoFactorDeadline: deadline,
            createdAt: NOW,
            updatedAt: NOW,
          });
          const credential = credentialRow(user.id, shape);
          if (credential) {
            await dataSource.getRepository(TwoFactorCredential).insert(credential);
          }
          const active = shape === 'active';
          expected.set(user.id, userState(user, active, NOW));
        }
      }
    }

    const rows = await dataSource
      .getRepository(User)
      .createQueryBuilder('u')
      .leftJoin(TwoFactorCredential, 'c', 'c.user_id = u.id')
      .select('u.id', 'id')
      .addSelect(USER_STATE_SQL, 'state')
      .where('u.client_id = :clientId', { clientId: client.id })
      .setParameter('now', NOW)
      .getRawMany<{ id: number; state: UserState }>();

    expect(rows).toHaveLength(expected.size);
    expect(new Map(rows.map((row) => [Number(row.id), row.state]))).toEqual(expected);
    expect(new Set(expected.values())).toEqual(
      new Set(['active', 'exempt', 'overdue', 'pending', 'inactive']),
    );
  });
});
