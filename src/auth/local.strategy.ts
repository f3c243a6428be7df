import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';

import { AppRequest, clientIp, userAgent } from '../common/request-context';
import { User } from '../users/user.entity';
import { AuthService } from './auth.service';
import { AppLoginDto } from './dto/login.dto';

/**
 * passport-local: email and password from the body, which the login guard has validated
 * and normalised. Serves the backoffice login and the app-channel login alike.
 */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true });
  }

  validate(request: AppRequest, email: string, password: string): Promise<User> {
    // Only the app login body may carry `app`: the backoffice login DTO refuses the field.
    const app = (request.body as Partial<AppLoginDto>).app ?? 'backoffice';

    return this.auth.verifyPassword(email, password, app, {
      ip: clientIp(request),
      userAgent: userAgent(request),
    });
  }
}
