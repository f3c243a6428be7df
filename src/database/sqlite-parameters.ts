import { DataSource, ObjectLiteral } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils';

const PARAMETER = /:(\.\.\.)?([A-Za-z0-9_.]+)/g;

/**
 * Makes TypeORM's SQLite driver bind number parameters instead of writing them into the SQL
 * text. Written in, `WHERE user_id = 42` and `WHERE user_id = 43` are two statements: each
 * query by id is prepared anew, the driver's statement cache (100, first in first out) never
 * hits, and the evicted statements hold native memory until a garbage collection that their
 * small JavaScript handles rarely trigger. Bound, every query shape is one cached statement.
 *
 * Integers are bound as BigInt, which SQLite stores as INTEGER, exactly as the literal was;
 * better-sqlite3 binds a JavaScript number as REAL (`5.0` in a text column). Booleans and
 * dates are converted as the driver converts them. Other drivers are left alone.
 */
export function bindSqliteParameters(dataSource: DataSource): DataSource {
  if (dataSource.options.type !== 'better-sqlite3') {
    return dataSource;
  }
  const driver = dataSource.driver;
  const escapeNative = driver.escapeQueryWithParameters.bind(driver);
  driver.escapeQueryWithParameters = (
    sql: string,
    parameters: ObjectLiteral,
    nativeParameters: ObjectLiteral,
  ): [string, unknown[]] => {
    const [text, bound] = escapeNative(sql, {}, nativeParameters) as [string, unknown[]];
    if (!parameters || Object.keys(parameters).length === 0) {
      return [text, bound];
    }
    const query = text.replace(
      PARAMETER,
      (full: string, spread: string | undefined, key: string) => {
        if (!Object.prototype.hasOwnProperty.call(parameters, key)) {
          return full;
        }
        const value: unknown = parameters[key];
        if (spread) {
          return (value as unknown[])
            .map((item) => {
              bound.push(sqliteValue(item));

              return '?';
            })
            .join(', ');
        }
        if (typeof value === 'function') {
          return String((value as () => unknown)());
        }
        bound.push(sqliteValue(value));

        return '?';
      },
    );

    return [query, bound];
  };

  return dataSource;
}

/** A parameter as SQLite stores it through TypeORM: integers as INTEGER, booleans, dates. */
export function sqliteValue(value: unknown): unknown {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return BigInt(value);
  }
  if (typeof value === 'boolean') {
    return value ? 1 : 0;
  }
  if (value instanceof Date) {
    return DateUtils.mixedDateToUtcDatetimeString(value);
  }

  return value;
}
