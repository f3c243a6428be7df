import { CanActivate, ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { CommonException } from '../common/common.exception';
import { ADMINISTRATOR_ROUTE } from '../common/decorators';
import { AppRequest } from '../common/request-context';
import { isAdministrator } from '../users/user.entity';

/** Runs after the session guard: administrator routes need `admin` and `user-management`. */
@Injectable()
export class AdministratorGuard implements CanActivate {
  private readonly logger = new Logger(AdministratorGuard.name);

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (!this.reflector.getAllAndOverride<boolean>(ADMINISTRATOR_ROUTE, targets)) {
      return true;
    }
    const principal = context.switchToHttp().getRequest<AppRequest>().principal;
    if (!principal) {
      throw CommonException.unauthenticated();
    }
    if (!isAdministrator(principal.user)) {
      this.logger.warn(
        { userId: principal.user.id, clientId: principal.homeClient.id },
        'Administrator route refused',
      );
      throw CommonException.forbidden('This route needs the admin and user-management permissions');
    }

    return true;
  }
}
