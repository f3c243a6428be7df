import { randomBytes } from 'node:crypto';

import { IsIn, IsInt, Min } from 'class-validator';
import { CreateUserDto } from '../admin/dto/admin-user.dto';
import { AuditService } from '../audit/audit.service';
import { CLIENT_KINDS, ClientKind } from '../clients/client.entity';
import { ClientsService } from '../clients/clients.service';
import { IsName, Optional, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../common/dto-rules';
import { TransactionRunner } from '../database/transaction-runner';
import { TwoFactorService } from '../two-factor/two-factor.service';
import { PERMISSIONS, Permission } from '../users/user.entity';
import { UsersService } from '../users/users.service';
import {
  CliCommand,
  CliUsageError,
  integerOption,
  requiredString,
  stringOption,
  validInput,
} from './cli-command';

/** What client:create takes, under the rules of the API's names. */
class ClientInput {
  @IsName()
  name: string;

  @IsIn(CLIENT_KINDS, { message: `$property must be one of ${CLIENT_KINDS.join(', ')}` })
  kind: ClientKind;

  @Optional()
  @IsInt({ message: '$property must be an integer' })
  @Min(1, { message: '$property must be a positive integer' })
  groupId?: number;
}

export const createClientCommand: CliCommand = {
  name: 'client:create',
  description: 'Create a client (tenant)',
  options: {
    name: { type: 'string', description: 'Client name', required: true },
    kind: { type: 'string', description: `One of ${CLIENT_KINDS.join(', ')} (standard)` },
    group: { type: 'string', description: 'Id of the group client a standard client joins' },
    'require-two-factor': { type: 'boolean', description: 'Require 2FA for its users' },
  },
  async run(app, options, out) {
    const input = validInput(ClientInput, {
      name: requiredString(options, 'name'),
      kind: stringOption(options, 'kind') ?? 'standard',
      groupId: integerOption(options, 'group'),
    });
    const client = await app.get(TransactionRunner).run(async (tx) => {
      const created = await app.get(ClientsService).create(
        {
          name: input.name,
          kind: input.kind,
          groupId: input.groupId ?? null,
          requireTwoFactor: options['require-two-factor'] === true,
        },
        tx,
      );
      await app.get(AuditService).recordClientCreated(created, 'cli', tx);

      return created;
    });
    out(`client ${client.id} created: ${client.name} (${client.kind})`);
  },
};

export const createUserCommand: CliCommand = {
  name: 'user:create',
  description: 'Create a user in a client',
  options: {
    client: { type: 'string', description: 'Home client id', required: true },
    email: { type: 'string', description: 'Email address', required: true },
    name: { type: 'string', description: 'Display name (default: the email)' },
    password: {
      type: 'string',
      description: `${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters; default: a random one, printed once`,
    },
    admin: { type: 'boolean', description: 'Grant admin and user-management' },
    permissions: { type: 'string', description: `Comma-separated: ${PERMISSIONS.join(', ')}` },
  },
  async run(app, options, out) {
    const clientId = integerOption(options, 'client');
    if (clientId === undefined) {
      throw new CliUsageError('--client is required');
    }
    const given = stringOption(options, 'password');
    const email = requiredString(options, 'email');
    const input = validInput(CreateUserDto, {
      email,
      name: stringOption(options, 'name') ?? email,
      password: given ?? randomBytes(18).toString('base64url'),
      permissions: parsePermissions(options),
      clientId,
    });
    await app.get(ClientsService).getByIdOrThrow(clientId);
    const audit = app.get(AuditService);
    const user = await app
      .get(UsersService)
      .create({ ...input, clientId }, undefined, (tx, created) =>
        audit.recordUserCreated(created, 'cli', tx),
      );
    out(`user ${user.id} created: ${user.email} in client ${user.clientId}`);
    if (given === undefined) {
      out(`password: ${input.password}`);
    }
  },
};

export const resetTwoFactorCommand: CliCommand = {
  name: 'two-factor:reset',
  description: "Reset a user's 2FA (for a lone administrator who lost phone and recovery codes)",
  options: {
    email: { type: 'string', description: 'The user whose 2FA is reset', required: true },
  },
  async run(app, options, out) {
    const user = await app.get(UsersService).findByEmail(requiredString(options, 'email'));
    if (!user) {
      throw new CliUsageError('No user has this email');
    }
    const client = await app.get(ClientsService).getByIdOrThrow(user.clientId);
    await app.get(TwoFactorService).resetForUser(user, client, null);
    out(`2FA of user ${user.id} reset; their sessions ended and they were emailed`);
  },
};

function parsePermissions(options: Record<string, unknown>): Permission[] {
  if (options.admin === true) {
    return ['admin', 'user-management'];
  }
  const list = stringOption(options as never, 'permissions');
  if (!list) {
    return [];
  }
  const permissions = list.split(',').map((p) => p.trim());
  const unknown = permissions.filter((p) => !PERMISSIONS.includes(p as Permission));
  if (unknown.length > 0) {
    throw new CliUsageError(`Unknown permissions: ${unknown.join(', ')}`);
  }

  return [...new Set(permissions)] as Permission[];
}
