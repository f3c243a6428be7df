import { CliCommand } from './cli-command';
import { demoSeedCommand } from './demo-seed';
import {
  createClientCommand,
  createUserCommand,
  resetTwoFactorCommand,
} from './directory-commands';
import { runEnforcementCommand } from './enforcement-commands';
import { requeueFailedMailCommand, sendMailCommand } from './mail-commands';

/** Every operator command, in the order `npm run cli -- help` lists them. */
export const COMMANDS: CliCommand[] = [
  createClientCommand,
  createUserCommand,
  resetTwoFactorCommand,
  demoSeedCommand,
  runEnforcementCommand,
  sendMailCommand,
  requeueFailedMailCommand,
];
