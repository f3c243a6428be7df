import { Injectable, Logger } from '@nestjs/common';

import { AuditEntry, AuditEventName, AuditService } from '../audit/audit.service';
import { Principal } from '../common/request-context';
import { PasswordAttemptsService } from './password-attempts.service';
import { User } from './user.entity';
import { UsersException } from './users.exception';

export type RecheckPurpose = 'password_change' | 'two_factor_setup';

interface CheckAudit {
  failed: AuditEventName;
  refusedLocked: AuditEventName;
  entry: Omit<AuditEntry, 'event'>;
}

/**
 * A password check counted in the per-email count and audited and logged as one: a wrong
 * password, a refusal while locked, and the lock it reaches. Logins and the re-checks of a
 * signed-in user (password change, 2FA setup) share it.
 */
@Injectable()
export class AuditedPasswordCheckService {
  private readonly logger = new Logger(AuditedPasswordCheckService.name);

  constructor(
    private readonly passwords: PasswordAttemptsService,
    private readonly audit: AuditService,
  ) {}

  /** True when the password is right; throws 429 while the email is locked. */
  async verify(
    email: string,
    user: User | null,
    password: string,
    { failed, refusedLocked, entry }: CheckAudit,
  ): Promise<boolean> {
    let check;
    try {
      check = await this.passwords.check(email, user, password);
    } catch (error) {
      await this.audit.record({ event: refusedLocked, ...entry });
      throw error;
    }
    if (check.ok) {
      return true;
    }
    this.logger.warn({ userId: user?.id ?? null, clientId: entry.clientId ?? null }, failed);
    await this.audit.record({ event: failed, ...entry });
    if (check.lockedNow) {
      this.logger.warn({ userId: user?.id ?? null }, 'Password login locked for this email');
      await this.audit.record({ event: 'login.locked', ...entry });
    }

    return false;
  }

  /** A signed-in user's password typed again; a wrong one answers 401 invalid_credentials. */
  async recheck(
    principal: Principal,
    password: string,
    purpose: RecheckPurpose,
    ip: string | null,
  ): Promise<void> {
    const { user } = principal;
    const right = await this.verify(user.email, user, password, {
      failed: 'password.recheck_failed',
      refusedLocked: 'password.recheck_refused_locked',
      entry: {
        actorUserId: user.id,
        targetUserId: user.id,
        clientId: principal.activeClient.id,
        ip,
        details: { purpose },
      },
    });
    if (!right) {
      throw UsersException.invalidCredentials();
    }
  }
}
