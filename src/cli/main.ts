import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';

import { EnvironmentError, validateEnvironment } from '../../config/environment';
import { AppModule } from '../app.module';
import { ApiException } from '../common/api.exception';
import { CliCommand, CliUsageError, ParsedOptions } from './cli-command';
import { COMMANDS } from './commands';
import { runMigrations } from './migrations';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function usage(): string {
  const lines = ['Usage: npm run cli -- <command> [options]', '', 'Commands:'];
  lines.push('  migration:run                Apply pending database migrations');
  for (const command of COMMANDS) {
    lines.push(`  ${command.name.padEnd(28)} ${command.description}`);
    for (const [name, spec] of Object.entries(command.options)) {
      const flag = spec.type === 'boolean' ? `--${name}` : `--${name} <value>`;
      lines.push(
        `      ${flag.padEnd(26)} ${spec.description}${spec.required ? ' (required)' : ''}`,
      );
    }
  }

  return lines.join('\n');
}

function parse(command: CliCommand, args: string[]): ParsedOptions {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.entries(command.options).map(([name, spec]) => [name, { type: spec.type }]),
    ),
    strict: true,
    allowPositionals: false,
  });
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.required && values[name] === undefined) {
      throw new CliUsageError(`--${name} is required`);
    }
  }

  return values;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === 'help' || name === '--help') {
    out(usage());

    return name ? 0 : 2;
  }
  const env = validateEnvironment({ LOG_LEVEL: 'warn', ...process.env });
  if (name === 'migration:run') {
    await runMigrations(env, out);

    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    throw new CliUsageError(`Unknown command "${name}"; see npm run cli -- help`);
  }
  const options = parse(command, args);
  // The scheduled jobs stay off: a command does its one piece of work and exits.
  const app = await NestFactory.createApplicationContext(AppModule.register({ env, jobs: false }), {
    logger: ['error'],
    abortOnError: false,
  });
  try {
    await command.run(app, options, out);
  } finally {
    await app.close();
  }

  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof EnvironmentError || error instanceof CliUsageError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof ApiException) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof TypeError && 'code' in error) {
      // parseArgs: an unknown or malformed option.
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  },
);
