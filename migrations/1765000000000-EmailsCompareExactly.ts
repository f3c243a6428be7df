import { MigrationInterface, QueryRunner } from 'typeorm';

// The initial schema gave emails the database's collation, utf8mb4_unicode_ci on MySQL, which
// takes "rené@example.com" and "rene@example.com" (or "ß" and "ss") for one value: the second
// account could not be created, a login found the other account, and both shared one
// password-failure counter. Emails are normalised by the application (trimmed, lower case)
// and compared exactly, as SQLite's default collation already does.
const EMAIL_COLUMNS = [
  ['users', 'email'],
  ['password_failures', 'email'],
] as const;

export class EmailsCompareExactly1765000000000 implements MigrationInterface {
  name = 'EmailsCompareExactly1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.setCollation(queryRunner, 'utf8mb4_bin');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.setCollation(queryRunner, 'utf8mb4_unicode_ci');
  }

  private async setCollation(queryRunner: QueryRunner, collation: string): Promise<void> {
    if (queryRunner.connection.options.type !== 'mysql') {
      return;
    }
    for (const [table, column] of EMAIL_COLUMNS) {
      await queryRunner.query(
        `ALTER TABLE \`${table}\` MODIFY \`${column}\` varchar(254) ` +
          `CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL`,
      );
    }
  }
}
