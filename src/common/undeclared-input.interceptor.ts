import { CallHandler, ExecutionContext, Injectable, NestInterceptor, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';

import { CommonException } from './common.exception';
import { joinProblems } from './validation';

/** The kinds of input a route declares with `@Body()` and `@Query()`. */
function declaredInputs(controller: Type, handler: string): Set<RouteParamtypes> {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<
    string,
    unknown
  >;

  return new Set(Object.keys(args).map((key) => Number(key.split(':')[0]) as RouteParamtypes));
}

function isEmpty(body: unknown): boolean {
  return (
    body === undefined ||
    (typeof body === 'object' && body !== null && !Array.isArray(body) && !Object.keys(body).length)
  );
}

/**
 * Unknown fields are refused on every route, also on those that take no body or no query:
 * there the validation pipe never runs, so this refuses them. A route without a body takes
 * none or `{}`; a route without a query takes no query parameter.
 */
@Injectable()
export class UndeclaredInputInterceptor implements NestInterceptor {
  private readonly declared = new Map<string, Set<RouteParamtypes>>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      this.check(context);
    }

    return next.handle();
  }

  private check(context: ExecutionContext): void {
    const controller = context.getClass();
    const handler = context.getHandler().name;
    const key = `${controller.name}.${handler}`;
    let inputs = this.declared.get(key);
    if (!inputs) {
      inputs = declaredInputs(controller, handler);
      this.declared.set(key, inputs);
    }
    const request = context.switchToHttp().getRequest<Request>();
    if (!inputs.has(RouteParamtypes.BODY) && !isEmpty(request.body)) {
      const body: unknown = request.body;
      throw CommonException.validation(
        typeof body === 'object' && body !== null && !Array.isArray(body)
          ? joinProblems(Object.keys(body).map((name) => `${name}: unknown field`))
          : 'body: this route takes no body',
      );
    }
    const query = Object.keys(request.query);
    if (!inputs.has(RouteParamtypes.QUERY) && query.length > 0) {
      throw CommonException.validation(joinProblems(query.map((name) => `${name}: unknown field`)));
    }
  }
}
