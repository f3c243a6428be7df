import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth } from '@nestjs/swagger';

import { CommonException } from './common.exception';
import { AppPrincipal, AppRequest, Principal, SessionStage } from './request-context';

export const PUBLIC_ROUTE = 'auth:public';
export const ROUTE_STAGES = 'auth:stages';
export const APP_CHANNEL_ROUTE = 'auth:app-channel';
export const ADMINISTRATOR_ROUTE = 'auth:administrator';

/** A route anyone may call; credentials sent with it are ignored. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * The session stages that may call a backoffice route. Without it a route serves only
 * `authenticated` sessions: pending and setup-required sessions are refused by default.
 */
export const Stages = (...stages: SessionStage[]): MethodDecorator & ClassDecorator =>
  SetMetadata(ROUTE_STAGES, stages);

/** Every stage: for routes a session must always reach, such as logout. */
export const ANY_STAGE: SessionStage[] = [
  'authenticated',
  'two-factor-required',
  'two-factor-setup-required',
];

/** A route of the app channels (voucher app, ticket app, web check-in); backoffice tokens fail. */
export const AppChannelRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(APP_CHANNEL_ROUTE, true), ApiBearerAuth());

/** A backoffice route that takes the session as Bearer token or cookie. */
export const BackofficeRoute = (): ClassDecorator & MethodDecorator =>
  applyDecorators(ApiBearerAuth(), ApiCookieAuth('session'));

/** A route for administrators: permissions `admin` and `user-management`. */
export const AdministratorRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ADMINISTRATOR_ROUTE, true), BackofficeRoute());

/** The backoffice caller, as the session guard resolved it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AppRequest>().principal;
    if (!principal) {
      throw CommonException.unauthenticated();
    }

    return principal;
  },
);

/** The app-channel caller, as the session guard resolved it. */
export const CurrentAppPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AppPrincipal => {
    const principal = context.switchToHttp().getRequest<AppRequest>().appPrincipal;
    if (!principal) {
      throw CommonException.unauthenticated();
    }

    return principal;
  },
);
