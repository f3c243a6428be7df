import {
  MigrationInterface,
  QueryRunner,
  Table,
  TableColumnOptions,
  TableForeignKey,
} from 'typeorm';

// Written with TypeORM's Table API so the same file builds the schema on SQLite and on
// MySQL/MariaDB. Times are datetime(3) in UTC with no database defaults: the application
// writes every instant from its clock.
const id: TableColumnOptions = {
  name: 'id',
  type: 'integer',
  isPrimary: true,
  isGenerated: true,
  generationStrategy: 'increment',
};
const time = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'datetime',
  precision: 3,
  isNullable: nullable,
});
const int = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: nullable,
});
const text = (name: string, length: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
});
const bool = (name: string): TableColumnOptions => ({ name, type: 'boolean', isNullable: false });
const hash = (name: string): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '64',
  isNullable: false,
});
const cascadeTo = (table: string, column: string): TableForeignKey =>
  new TableForeignKey({
    columnNames: [column],
    referencedTableName: table,
    referencedColumnNames: table === 'users' || table === 'clients' ? ['id'] : [column],
    onDelete: 'CASCADE',
  });

export class InitialSchema1764800000000 implements MigrationInterface {
  name = 'InitialSchema1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'clients',
        columns: [
          id,
          text('name', 200),
          text('kind', 16),
          int('group_id', true),
          bool('require_two_factor'),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [{ name: 'IDX_clients_group', columnNames: ['group_id'] }],
        foreignKeys: [
          {
            columnNames: ['group_id'],
            referencedTableName: 'clients',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          id,
          int('client_id'),
          text('email', 254),
          text('name', 200),
          text('password_hash', 255),
          text('permissions', 100),
          bool('active'),
          bool('two_factor_exempt'),
          time('two_factor_deadline', true),
          time('created_at'),
          time('updated_at'),
        ],
        uniques: [{ name: 'UQ_users_email', columnNames: ['email'] }],
        indices: [
          { name: 'IDX_users_client', columnNames: ['client_id', 'id'] },
          { name: 'IDX_users_deadline', columnNames: ['two_factor_deadline'] },
        ],
        foreignKeys: [
          {
            columnNames: ['client_id'],
            referencedTableName: 'clients',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          id,
          hash('token_hash'),
          int('user_id'),
          text('channel', 20),
          int('active_client_id'),
          time('password_verified_at'),
          time('second_factor_verified_at', true),
          int('failed_code_attempts'),
          time('created_at'),
          time('last_seen_at'),
          time('expires_at'),
          text('ip', 64, true),
          text('user_agent', 255, true),
        ],
        uniques: [{ name: 'UQ_sessions_token', columnNames: ['token_hash'] }],
        indices: [
          { name: 'IDX_sessions_user', columnNames: ['user_id'] },
          { name: 'IDX_sessions_expires', columnNames: ['expires_at'] },
        ],
        foreignKeys: [cascadeTo('users', 'user_id')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'password_failures',
        columns: [
          { ...text('email', 254), isPrimary: true },
          int('failures'),
          time('locked_until', true),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'two_factor_credentials',
        columns: [
          { ...int('user_id'), isPrimary: true },
          text('secret_ciphertext', 255, true),
          time('activated_at', true),
          text('pending_secret_ciphertext', 255, true),
          time('pending_expires_at', true),
          { name: 'last_used_step', type: 'bigint', isNullable: true },
          int('failed_attempts'),
          time('locked_until', true),
          time('updated_at'),
        ],
        foreignKeys: [cascadeTo('users', 'user_id')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'recovery_codes',
        columns: [id, int('user_id'), hash('code_hash'), time('used_at', true), time('created_at')],
        indices: [{ name: 'IDX_recovery_codes_user', columnNames: ['user_id', 'code_hash'] }],
        foreignKeys: [cascadeTo('users', 'user_id')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'trusted_devices',
        columns: [
          id,
          int('user_id'),
          hash('token_hash'),
          text('user_agent', 255, true),
          time('created_at'),
          time('last_used_at', true),
          time('expires_at'),
        ],
        uniques: [{ name: 'UQ_trusted_devices_token', columnNames: ['token_hash'] }],
        indices: [
          { name: 'IDX_trusted_devices_user', columnNames: ['user_id'] },
          { name: 'IDX_trusted_devices_expires', columnNames: ['expires_at'] },
        ],
        foreignKeys: [cascadeTo('users', 'user_id')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'mail_outbox',
        columns: [
          id,
          text('template', 64),
          text('recipient', 254),
          { name: 'payload', type: 'text', isNullable: false },
          text('status', 16),
          int('attempts'),
          time('next_attempt_at'),
          text('claim_token', 64, true),
          time('claim_expires_at', true),
          text('last_error', 500, true),
          time('created_at'),
          time('sent_at', true),
        ],
        indices: [{ name: 'IDX_mail_outbox_due', columnNames: ['status', 'next_attempt_at'] }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'deadline_reminders',
        columns: [id, int('user_id'), time('deadline'), text('kind', 16), time('created_at')],
        uniques: [{ name: 'UQ_deadline_reminders', columnNames: ['user_id', 'deadline', 'kind'] }],
        foreignKeys: [cascadeTo('users', 'user_id')],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          id,
          time('created_at'),
          text('event', 64),
          int('actor_user_id', true),
          int('target_user_id', true),
          int('client_id', true),
          text('ip', 64, true),
          text('details', 1000, true),
        ],
        indices: [
          { name: 'IDX_audit_events_client', columnNames: ['client_id', 'id'] },
          { name: 'IDX_audit_events_target', columnNames: ['target_user_id', 'id'] },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'job_leases',
        columns: [
          { ...text('name', 64), isPrimary: true },
          text('holder', 64, true),
          time('expires_at'),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'job_leases',
      'audit_events',
      'deadline_reminders',
      'mail_outbox',
      'trusted_devices',
      'recovery_codes',
      'two_factor_credentials',
      'password_failures',
      'sessions',
      'users',
      'clients',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
