import { Column, ColumnOptions } from 'typeorm';

/**
 * A UTC instant with millisecond precision. Written from the application's clock; the
 * schema has no database defaults for times.
 */
export function DateTimeColumn(name: string, options: ColumnOptions = {}): PropertyDecorator {
  return Column({ name, type: 'datetime', precision: 3, ...options });
}
