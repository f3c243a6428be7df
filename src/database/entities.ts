import { AuditEvent } from '../audit/audit-event.entity';
import { PasswordFailure } from '../auth/password-failure.entity';
import { Session } from '../sessions/session.entity';
import { Client } from '../clients/client.entity';
import { DeadlineReminder } from '../notifications/deadline-reminder.entity';
import { MailOutbox } from '../notifications/mail-outbox.entity';
import { RecoveryCode } from '../two-factor/recovery-code.entity';
import { TrustedDevice } from '../two-factor/trusted-device.entity';
import { TwoFactorCredential } from '../two-factor/two-factor-credential.entity';
import { User } from '../users/user.entity';
import { JobLease } from './job-lease.entity';

export const ENTITIES = [
  AuditEvent,
  Client,
  DeadlineReminder,
  JobLease,
  MailOutbox,
  PasswordFailure,
  RecoveryCode,
  Session,
  TrustedDevice,
  TwoFactorCredential,
  User,
];
