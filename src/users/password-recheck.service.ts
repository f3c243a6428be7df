import { Injectable, Logger } from '@nestjs/common';

import { AuditService } from '../audit/audit.service';
import { Principal } from '../common/request-context';
import { PasswordAttemptsService } from './password-attempts.service';
import { UsersException } from './users.exception';

export type RecheckPurpose = 'password_change' | 'two_factor_setup';

/**
 * A signed-in user's password typed again (2FA setup, password change): it counts in the same
 * per-email count as a login, and is audited and logged like one, lock included.
 */
@Injectable()
export class PasswordRecheckService {
  private readonly logger = new Logger(PasswordRecheckService.name);

  constructor(
    private readonly passwords: PasswordAttemptsService,
    private readonly audit: AuditService,
  ) {}

  async verify(
    principal: Principal,
    password: string,
    purpose: RecheckPurpose,
    ip: string | null,
  ): Promise<void> {
    const { user } = principal;
    const context = {
      actorUserId: user.id,
      targetUserId: user.id,
      clientId: principal.activeClient.id,
      ip,
      details: { purpose },
    };
    let check;
    try {
      check = await this.passwords.check(user.email, user, password);
    } catch (error) {
      await this.audit.record({ event: 'password.recheck_refused_locked', ...context });
      throw error;
    }
    if (check.ok) {
      return;
    }
    this.logger.warn({ userId: user.id, clientId: principal.activeClient.id }, 'Wrong password');
    await this.audit.record({ event: 'password.recheck_failed', ...context });
    if (check.lockedNow) {
      this.logger.warn({ userId: user.id }, 'Password login locked for this email');
      await this.audit.record({ event: 'login.locked', ...context });
    }
    throw UsersException.invalidCredentials();
  }
}
