import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

import { JoinedRow } from './joined-row';
import { sqliteValue } from './sqlite-parameters';

interface Insert {
  sql: string;
  columns: ColumnMetadata[];
  generated: ColumnMetadata | undefined;
}

/**
 * Plain SQL with positional parameters for the statements every login and code step runs,
 * where building the query costs TypeORM more than the database spends on it (an INSERT
 * through the query builder about 120 µs, as a statement about 45 µs on SQLite; a SELECT by
 * key 60 µs against 5 µs). Values are converted by the driver exactly as TypeORM converts
 * them (dates, booleans, transformers), so the rows are the same either way.
 */
@Injectable()
export class Statements {
  private readonly inserts = new Map<string, Insert>();
  private readonly joined: JoinedRow;
  private readonly sqlite: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.joined = new JoinedRow(dataSource);
    this.sqlite = dataSource.options.type === 'better-sqlite3';
  }

  /** Inserts one row of `target` from the properties of `values`; returns its generated id. */
  async insert<T extends ObjectLiteral>(
    manager: EntityManager,
    target: EntityTarget<T>,
    values: Partial<T>,
  ): Promise<number | undefined> {
    const statement = this.insertFor(target, values);
    // The driver converts each value as TypeORM writes it; on SQLite an integer is then bound
    // as BigInt, which SQLite stores as INTEGER (see bindSqliteParameters).
    const parameters = statement.columns.map((column) => {
      const value: unknown = this.dataSource.driver.preparePersistentValue(
        column.getEntityValue(values),
        column,
      );

      return this.sqlite ? sqliteValue(value) : value;
    });
    const result = await this.run(manager, statement.sql, parameters);

    return statement.generated ? insertedId(result.raw) : undefined;
  }

  /** Runs an UPDATE or DELETE; returns how many rows it changed. */
  async execute(manager: EntityManager, sql: string, parameters: unknown[]): Promise<number> {
    const result = await this.run(
      manager,
      sql,
      parameters.map((value) => this.value(value)),
    );

    return result.affected ?? 0;
  }

  /** The one row of `target` (alias `t` in `where`) that `where` finds, or null. */
  async findOne<T extends ObjectLiteral>(
    manager: EntityManager,
    target: EntityTarget<T>,
    where: string,
    parameters: unknown[],
  ): Promise<T | null> {
    const table = this.dataSource.getMetadata(target).tableName;
    const rows = await manager.query<Record<string, unknown>[]>(
      `SELECT ${this.joined.select(target, 't')} FROM ${this.dataSource.driver.escape(table)} t ` +
        `WHERE ${where}`,
      parameters.map((value) => this.value(value)),
    );

    return rows[0] ? this.joined.read(target, 't', rows[0]) : null;
  }

  /** A parameter as the driver stores it: dates and booleans as TypeORM writes them. */
  private value(value: unknown): unknown {
    if (this.sqlite) {
      return sqliteValue(value);
    }

    return typeof value === 'boolean' ? Number(value) : value;
  }

  private insertFor(target: EntityTarget<ObjectLiteral>, values: ObjectLiteral): Insert {
    const metadata = this.dataSource.getMetadata(target);
    const columns = metadata.columns.filter(
      (column) => !column.isGenerated && column.getEntityValue(values) !== undefined,
    );
    const key = `${metadata.name}:${columns.map((column) => column.propertyPath).join(',')}`;
    let statement = this.inserts.get(key);
    if (!statement) {
      const { driver } = this.dataSource;
      statement = {
        sql:
          `INSERT INTO ${driver.escape(metadata.tableName)} ` +
          `(${columns.map((column) => driver.escape(column.databaseName)).join(', ')}) ` +
          `VALUES (${columns.map(() => '?').join(', ')})`,
        columns,
        generated: metadata.columns.find((column) => column.isGenerated),
      };
      this.inserts.set(key, statement);
    }

    return statement;
  }

  private async run(manager: EntityManager, sql: string, parameters: unknown[]) {
    // Inside a transaction the manager has its query runner; otherwise one is borrowed, as
    // EntityManager.query does.
    const runner: QueryRunner = manager.queryRunner ?? this.dataSource.createQueryRunner();
    try {
      return await runner.query(sql, parameters, true);
    } finally {
      if (!manager.queryRunner) {
        await runner.release();
      }
    }
  }
}

// SQLite answers the rowid, MySQL an OK packet with insertId.
function insertedId(raw: unknown): number | undefined {
  if (typeof raw === 'number' || typeof raw === 'bigint') {
    return Number(raw);
  }
  const id = (raw as { insertId?: number | string } | null)?.insertId;

  return id === undefined ? undefined : Number(id);
}
