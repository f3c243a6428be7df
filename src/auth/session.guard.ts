import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

import { CommonException } from '../common/common.exception';
import { APP_CHANNEL_ROUTE, PUBLIC_ROUTE, ROUTE_STAGES } from '../common/decorators';
import { AppRequest, SessionStage } from '../common/request-context';
import { TwoFactorException } from '../two-factor/two-factor.exception';
import { PrincipalService } from './principal.service';
import { presentedSessionToken } from './session-token';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEFAULT_STAGES: SessionStage[] = ['authenticated'];

/**
 * The one global guard: every route needs a live session unless it is marked `@Public()`.
 * It keeps backoffice and app-channel tokens apart (app tokens as Bearer only), asks
 * cookie-authenticated backoffice writes for X-Requested-With, and lets each session stage
 * reach only the routes that name it.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly principals: PrincipalService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) {
      return true;
    }
    const request = context.switchToHttp().getRequest<AppRequest>();
    const presented = presentedSessionToken(request);
    if (!presented) {
      throw CommonException.unauthenticated();
    }
    const caller = await this.principals.resolve(presented.token, presented.viaCookie);
    if (!caller) {
      throw CommonException.unauthenticated();
    }

    const appRoute = this.reflector.getAllAndOverride<boolean>(APP_CHANNEL_ROUTE, targets);
    if (caller.channel === 'app') {
      if (!appRoute) {
        throw CommonException.wrongChannel('An app token cannot call backoffice routes');
      }
      // App tokens travel as Bearer only: the apps get no cookie, and a cookie that carries
      // an app token was planted, not issued.
      if (presented.viaCookie) {
        throw CommonException.unauthenticated();
      }
      request.appPrincipal = caller.principal;

      return true;
    }
    if (presented.viaCookie && WRITE_METHODS.has(request.method)) {
      if (request.headers['x-requested-with'] === undefined) {
        throw CommonException.csrfHeaderMissing();
      }
    }
    if (appRoute) {
      throw CommonException.wrongChannel('A backoffice token cannot call app routes');
    }

    const { principal } = caller;
    const stages =
      this.reflector.getAllAndOverride<SessionStage[]>(ROUTE_STAGES, targets) ?? DEFAULT_STAGES;
    if (!stages.includes(principal.stage)) {
      throw this.stageRefusal(principal.stage);
    }
    request.principal = principal;

    return true;
  }

  private stageRefusal(stage: SessionStage): Error {
    switch (stage) {
      case 'two-factor-required':
        return TwoFactorException.required();
      case 'two-factor-setup-required':
        return TwoFactorException.setupRequired();
      case 'authenticated':
        return CommonException.forbidden('This session has no pending code step');
    }
  }
}
