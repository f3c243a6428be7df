import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { Request } from 'express';
import type { Observable } from 'rxjs';

import { CommonException } from './common.exception';
import { joinProblems } from './validation';
import { UNKNOWN_FIELD } from './validation-reasons';

const unknownFields = (names: string[]): string =>
  joinProblems(names.map((name) => `${name}: ${UNKNOWN_FIELD}`));

/**
 * Unknown fields are refused on every route, also on those that take no body or no query:
 * there the validation pipe never runs, so this refuses them. A route without a body takes
 * none or `{}`; a route without a query takes no query parameter.
 */
@Injectable()
export class UndeclaredInputInterceptor implements NestInterceptor {
  // What each handler declares with `@Body()` and `@Query()`, read once from Nest's metadata.
  private readonly declared = new WeakMap<object, Set<RouteParamtypes>>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      this.check(context);
    }

    return next.handle();
  }

  private check(context: ExecutionContext): void {
    const inputs = this.inputsOf(context);
    const request = context.switchToHttp().getRequest<Request>();
    const body: unknown = request.body;
    if (!inputs.has(RouteParamtypes.BODY) && body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw CommonException.validation('body: this route takes no body');
      }
      const fields = Object.keys(body);
      if (fields.length > 0) {
        throw CommonException.validation(unknownFields(fields));
      }
    }
    const parameters = Object.keys(request.query);
    if (!inputs.has(RouteParamtypes.QUERY) && parameters.length > 0) {
      throw CommonException.validation(unknownFields(parameters));
    }
  }

  private inputsOf(context: ExecutionContext): Set<RouteParamtypes> {
    const handler = context.getHandler();
    let inputs = this.declared.get(handler);
    if (!inputs) {
      const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ??
        {}) as Record<string, unknown>;
      inputs = new Set(Object.keys(args).map((key) => Number(key.split(':')[0])));
      this.declared.set(handler, inputs);
    }

    return inputs;
  }
}
