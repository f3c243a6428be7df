import { Column, DataSource, Entity, In, MoreThan, PrimaryGeneratedColumn } from 'typeorm';

import { bindSqliteParameters } from './sqlite-parameters';

@Entity({ name: 'things' })
class Thing {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 20 })
  label: string;

  @Column({ type: 'integer' })
  count: number;

  @Column({ type: 'boolean' })
  flag: boolean;

  @Column({ type: 'datetime', precision: 3, nullable: true })
  at: Date | null;
}

describe('bindSqliteParameters', () => {
  let dataSource: DataSource;

  beforeEach(async () => {
    dataSource = bindSqliteParameters(
      new DataSource({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: [Thing],
        synchronize: true,
      }),
    );
    await dataSource.initialize();
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  it('binds numbers, so that queries by different ids have one SQL text', () => {
    const query = (id: number) =>
      dataSource
        .getRepository(Thing)
        .createQueryBuilder('thing')
        .where('thing.id = :id AND thing.count > :count', { id, count: 2 })
        .getQueryAndParameters();

    const [first, firstParameters] = query(41);
    const [second, secondParameters] = query(42);

    expect(first).toBe(second);
    expect(first).not.toMatch(/41|42/);
    expect(firstParameters).toEqual([41n, 2n]);
    expect(secondParameters).toEqual([42n, 2n]);
  });

  it('prepares a query shape once, whatever the ids', async () => {
    const repository = dataSource.getRepository(Thing);
    await repository.insert(
      Array.from({ length: 50 }, (_, i) => ({ label: `t${i}`, count: i, flag: true, at: null })),
    );
    const connection = (
      dataSource.driver as unknown as { databaseConnection: { prepare: (sql: string) => unknown } }
    ).databaseConnection;
    await repository.findOneBy({ id: 1 });
    const prepare = jest.spyOn(connection, 'prepare');

    try {
      for (let id = 2; id <= 50; id++) {
        expect((await repository.findOneBy({ id }))?.label).toBe(`t${id - 1}`);
      }
      expect(prepare).not.toHaveBeenCalled();
    } finally {
      prepare.mockRestore();
    }
  });

  it('stores and matches values as the written-in form did: integers, text, booleans, dates', async () => {
    const at = new Date('2026-03-02T09:00:00.123Z');
    const repository = dataSource.getRepository(Thing);
    await repository.insert({ label: '5', count: 7, flag: false, at });
    await repository
      .createQueryBuilder()
      .update()
      .set({ label: () => ':label' })
      .setParameters({ label: 5 })
      .execute();

    const [raw] = await dataSource.query<Record<string, unknown>[]>(
      'SELECT label, typeof(label) AS labelType, count, typeof(count) AS countType, flag, at FROM things',
    );
    expect(raw).toEqual({
      label: '5',
      labelType: 'text',
      count: 7,
      countType: 'integer',
      flag: 0,
      at: '2026-03-02 09:00:00.123',
    });
    expect(
      await repository.findBy({ count: In([6, 7]), flag: false, at: MoreThan(new Date(0)) }),
    ).toEqual([{ id: 1, label: '5', count: 7, flag: false, at }]);
    expect(await repository.findBy({ count: 7.5 })).toEqual([]);
    expect(await repository.countBy({ flag: true })).toBe(0);
  });
});
