import { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

interface AliasedEntity {
  metadata: EntityMetadata;
  columns: { field: string; column: ColumnMetadata }[];
  primaryFields: string[];
}

/**
 * Reads several entities from one row of a hand-written join. `select(Entity, alias)` lists
 * every column of the entity as `<alias>_<column>`, and `read(Entity, alias, row)` turns
 * those fields back into an entity, converted by the driver exactly as TypeORM's own queries
 * convert them (dates, booleans, transformers). With positional `?` parameters the SQL text
 * is constant, so SQLite prepares it once.
 */
export class JoinedRow {
  private readonly aliased = new Map<string, AliasedEntity>();

  constructor(private readonly dataSource: DataSource) {}

  select(target: EntityTarget<ObjectLiteral>, alias: string): string {
    const { driver } = this.dataSource;

    return this.entity(target, alias)
      .columns.map(
        ({ field, column }) =>
          `${driver.escape(alias)}.${driver.escape(column.databaseName)} AS ${driver.escape(field)}`,
      )
      .join(', ');
  }

  /** The entity, or null when the join found no row for it (its primary key is null). */
  read<T extends ObjectLiteral>(
    target: EntityTarget<T>,
    alias: string,
    row: Record<string, unknown>,
  ): T | null {
    const { metadata, columns, primaryFields } = this.entity(target, alias);
    if (primaryFields.some((field) => row[field] === null || row[field] === undefined)) {
      return null;
    }
    const entity = metadata.create() as T;
    for (const { field, column } of columns) {
      const raw = row[field];
      if (raw !== undefined) {
        column.setEntityValue(entity, this.dataSource.driver.prepareHydratedValue(raw, column));
      }
    }

    return entity;
  }

  private entity(target: EntityTarget<ObjectLiteral>, alias: string): AliasedEntity {
    const metadata = this.dataSource.getMetadata(target);
    const key = `${metadata.name}:${alias}`;
    let found = this.aliased.get(key);
    if (!found) {
      const field = (column: ColumnMetadata) => `${alias}_${column.databaseName}`;
      found = {
        metadata,
        columns: metadata.columns.map((column) => ({ field: field(column), column })),
        primaryFields: metadata.primaryColumns.map(field),
      };
      this.aliased.set(key, found);
    }

    return found;
  }
}
