import { CanActivate, ExecutionContext, Injectable, Type, mixin } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';

import { StrictValidationPipe } from '../common/validation';

/**
 * passport-local behind body validation: guards run before pipes, so the body is validated
 * (and the email normalised) here, and bad input answers 400 naming the field, not 401.
 */
export function LoginGuard(dto: Type<object>): Type<CanActivate> {
  @Injectable()
  class ValidatedLoginGuard extends AuthGuard('local') {
    private readonly pipe = new StrictValidationPipe();

    override async canActivate(context: ExecutionContext): Promise<boolean> {
      const request = context.switchToHttp().getRequest<Request>();
      request.body = await this.pipe.transform(request.body, { type: 'body', metatype: dto });

      return (await super.canActivate(context)) as boolean;
    }
  }

  return mixin(ValidatedLoginGuard);
}
