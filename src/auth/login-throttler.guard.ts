import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerLimitDetail } from '@nestjs/throttler';

import { ApiException } from '../common/api.exception';
import { COMMON_ERRORS } from '../common/common.exception';

export const LOGIN_THROTTLER = 'login';

/**
 * Password logins per client IP (`@nestjs/throttler`, in memory per instance): the IP is the
 * socket's unless TRUST_PROXY names the proxies to believe. The per-email counter in the
 * database is what holds across instances.
 */
@Injectable()
export class LoginThrottlerGuard extends ThrottlerGuard {
  // One bucket per address for every password login, backoffice and app channels alike: the
  // default key names the route, which would give each login route an allowance of its own.
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string) {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new ApiException(
      COMMON_ERRORS.tooManyAttempts,
      'Too many login attempts from this address; try again later',
      Math.max(1, detail.timeToBlockExpire),
    );
  }
}
