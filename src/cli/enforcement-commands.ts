import { EnforcementService } from '../enforcement/enforcement.service';
import { CliCommand } from './cli-command';

export const runEnforcementCommand: CliCommand = {
  name: 'enforcement:run',
  description: 'Run the enforcement job once now: reminders and removal of what has expired',
  options: {},
  async run(app, _options, out) {
    const outcome = await app.get(EnforcementService).run();
    if (!outcome.ran) {
      out('skipped: another instance is running the enforcement job');

      return;
    }
    const { reminders, ...cleanup } = outcome.counts;
    out(
      `reminders: ${reminders.sent} queued, ${reminders.skipped} skipped, ` +
        `${reminders.errors} errors (${reminders.usersChecked} users checked` +
        `${reminders.capped ? ', cap reached' : ''})`,
    );
    out(
      `removed: ${cleanup.sessionsRemoved} sessions, ${cleanup.setupsCleared} setups, ` +
        `${cleanup.trustedDevicesRemoved} trusted devices; ${cleanup.errors} failed steps`,
    );
  },
};
