import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

import { AuditEntry, AuditService } from '../audit/audit.service';
import { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { CommonException } from '../common/common.exception';
import { Principal, SessionStage } from '../common/request-context';
import { Statements } from '../database/statements';
import { TransactionRunner } from '../database/transaction-runner';
import { AppChannel, Session } from '../sessions/session.entity';
import { SessionsService } from '../sessions/sessions.service';
import { CodeAttempt, CodeVerifier } from '../two-factor/code-verifier.service';
import { TrustedDevicesService } from '../two-factor/trusted-devices.service';
import {
  LoginNotice,
  TwoFactorFacts,
  deriveStage,
  loginNotice,
} from '../two-factor/two-factor-policy';
import { TwoFactorPolicyService } from '../two-factor/two-factor-policy.service';
import { TwoFactorService } from '../two-factor/two-factor.service';
import { AuditedPasswordCheckService } from '../users/audited-password-check.service';
import { PasswordHasher } from '../users/password-hasher';
import { User } from '../users/user.entity';
import { UsersException } from '../users/users.exception';
import { UsersService } from '../users/users.service';

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export interface LoginResult {
  sessionToken: string;
  stage: SessionStage;
  expiresAt: Date;
  notice: LoginNotice;
  trustedDevice?: { token: string; expiresAt: Date };
}

export interface AppLoginResult {
  sessionToken: string;
  app: AppChannel;
  expiresAt: Date;
}

type PasswordChannel = 'backoffice' | AppChannel;

/** Password login, the code and recovery steps, logout and password change. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly passwordCheck: AuditedPasswordCheckService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly verifier: CodeVerifier,
    private readonly twoFactor: TwoFactorService,
    private readonly trustedDevices: TrustedDevicesService,
    private readonly policy: TwoFactorPolicyService,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly statements: Statements,
    private readonly clock: Clock,
  ) {}

  /**
   * Checks a password for a normalised email. An unknown email, an inactive account and a
   * wrong password answer alike and cost one argon2 verification each.
   */
  async verifyPassword(
    email: string,
    password: string,
    channel: PasswordChannel,
    meta: RequestMeta,
  ): Promise<User> {
    const user = await this.users.findByEmail(email);
    const right = await this.passwordCheck.verify(email, user, password, {
      failed: channel === 'backoffice' ? 'login.failed' : 'app_login.failed',
      refusedLocked: channel === 'backoffice' ? 'login.refused_locked' : 'app_login.refused_locked',
      entry: {
        targetUserId: user?.id ?? null,
        clientId: user?.clientId ?? null,
        ip: meta.ip,
        details: channel === 'backoffice' ? undefined : { app: channel },
      },
    });
    if (right) {
      // A check never succeeds without a user: an unknown email is checked against a dummy.
      return user as User;
    }
    throw UsersException.invalidCredentials();
  }

  /** After the password: a pending session when a code is due, a full one otherwise. */
  async completeLogin(
    user: User,
    trustedDeviceToken: string | undefined,
    meta: RequestMeta,
  ): Promise<LoginResult> {
    const homeClient = await this.dataSource.getRepository(Client).findOneByOrFail({
      id: user.clientId,
    });
    const active = await this.twoFactor.isActive(user.id);
    const device = active
      ? await this.trustedDevices.useIfValid(user.id, trustedDeviceToken)
      : null;
    const now = this.clock.now();
    const facts: TwoFactorFacts = { user, homeClient, activeClient: homeClient, active };

    return this.transactions.run(async (tx) => {
      await this.policy.ensureDeadline(tx, user.id, facts, now);
      const probe = { secondFactorVerifiedAt: device ? now : null };
      const stage = deriveStage(probe, facts, now);
      const { token, session } = await this.sessions.issue(tx, {
        userId: user.id,
        channel: 'backoffice',
        activeClientId: homeClient.id,
        passwordVerifiedAt: now,
        secondFactorVerifiedAt: probe.secondFactorVerifiedAt,
        pending: stage === 'two-factor-required',
        ip: meta.ip,
        userAgent: meta.userAgent,
      });
      const base = { actorUserId: user.id, targetUserId: user.id, clientId: homeClient.id };
      await this.audit.record(
        {
          event: device ? 'login.trusted_device_used' : 'login.succeeded',
          ...base,
          ip: meta.ip,
          details: { stage, ...(device ? { deviceId: device.id } : {}) },
        },
        tx,
      );

      return {
        sessionToken: token,
        stage,
        expiresAt: session.expiresAt,
        notice: loginNotice(facts, now),
      };
    });
  }

  /**
   * The code step: a valid code ends the pending session and issues a full one, in the
   * transaction that accepts the code, so wrong codes racing in the same session cannot end
   * it between the two.
   */
  verifyCodeStep(
    principal: Principal,
    code: string,
    trustDevice: boolean,
    meta: RequestMeta,
  ): Promise<LoginResult> {
    return this.verifier.verifyTotp(this.attempt(principal, meta), code, 'active', (tx) =>
      this.rotatePendingSession(tx, principal, trustDevice, meta, 'two_factor.code_succeeded'),
    );
  }

  /** The recovery step: an unused recovery code stands in for the code, once. */
  verifyRecoveryStep(
    principal: Principal,
    recoveryCode: string,
    meta: RequestMeta,
  ): Promise<LoginResult> {
    return this.verifier.verifyRecoveryCode(
      this.attempt(principal, meta),
      recoveryCode,
      'sign-in',
      (tx) => this.rotatePendingSession(tx, principal, false, meta, null),
    );
  }

  async logout(session: Session, meta: RequestMeta): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.sessions.end(tx, session.id);
      await this.audit.record(
        {
          event: 'logout',
          actorUserId: session.userId,
          targetUserId: session.userId,
          clientId: session.activeClientId,
          ip: meta.ip,
          details: session.channel === 'backoffice' ? undefined : { app: session.channel },
        },
        tx,
      );
    });
  }

  /**
   * Changes the password after re-checking the current one (which counts like a login). The
   * user's other sessions end and every trusted device is revoked.
   */
  async changePassword(
    principal: Principal,
    currentPassword: string,
    newPassword: string,
    meta: RequestMeta,
  ): Promise<void> {
    const { user } = principal;
    await this.passwordCheck.recheck(principal, currentPassword, 'password_change', meta.ip);
    const checkedHash = user.passwordHash;
    const passwordHash = await this.hasher.hash(newPassword);
    await this.transactions.run(async (tx) => {
      // A change from another session committed meanwhile ended this one.
      if (
        !checkedHash ||
        !(await this.users.replacePasswordHash(tx, user.id, checkedHash, passwordHash))
      ) {
        throw CommonException.unauthenticated();
      }
      const ended = await this.sessions.endAllForUser(tx, user.id, principal.session.id);
      const revoked = await this.trustedDevices.revokeAll(tx, user.id);
      const context = this.context(principal, meta);
      await this.audit.record(
        { event: 'password.changed', ...context, details: { sessionsEnded: ended } },
        tx,
      );
      if (revoked > 0) {
        await this.audit.record(
          { event: 'trusted_device.revoked', ...context, details: { all: true, count: revoked } },
          tx,
        );
      }
    });
  }

  /** App channels: password only, a token that only app routes take. */
  async appLogin(user: User, app: AppChannel, meta: RequestMeta): Promise<AppLoginResult> {
    const now = this.clock.now();

    return this.transactions.run(async (tx) => {
      const { token, session } = await this.sessions.issue(tx, {
        userId: user.id,
        channel: app,
        activeClientId: user.clientId,
        passwordVerifiedAt: now,
        secondFactorVerifiedAt: null,
        pending: false,
        ip: meta.ip,
        userAgent: meta.userAgent,
      });
      await this.audit.record(
        {
          event: 'app_login.succeeded',
          actorUserId: user.id,
          targetUserId: user.id,
          clientId: user.clientId,
          ip: meta.ip,
          details: { app },
        },
        tx,
      );

      return { sessionToken: token, app, expiresAt: session.expiresAt };
    });
  }

  private async rotatePendingSession(
    tx: EntityManager,
    principal: Principal,
    trustDevice: boolean,
    meta: RequestMeta,
    event: AuditEntry['event'] | null,
  ): Promise<LoginResult> {
    const { user, session: pending } = principal;
    const now = this.clock.now();

    // Two valid codes racing in one pending session must not yield two sessions; a session
    // ended meanwhile (its fifth wrong code) takes the code with it, unused.
    const ended = await this.statements.execute(tx, 'DELETE FROM sessions WHERE id = ?', [
      pending.id,
    ]);
    if (ended !== 1) {
      throw CommonException.unauthenticated();
    }
    const { token, session } = await this.sessions.issue(tx, {
      userId: user.id,
      channel: 'backoffice',
      activeClientId: pending.activeClientId,
      passwordVerifiedAt: pending.passwordVerifiedAt,
      secondFactorVerifiedAt: now,
      pending: false,
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    const context = this.context(principal, meta);
    if (event) {
      await this.audit.record({ event, ...context }, tx);
    }
    const result: LoginResult = {
      sessionToken: token,
      stage: 'authenticated',
      expiresAt: session.expiresAt,
      notice: null,
    };
    if (trustDevice) {
      const added = await this.trustedDevices.add(tx, user.id, meta.userAgent);
      await this.audit.record(
        { event: 'trusted_device.added', ...context, details: { deviceId: added.device.id } },
        tx,
      );
      result.trustedDevice = { token: added.token, expiresAt: added.device.expiresAt };
    }

    return result;
  }

  private attempt(principal: Principal, meta: RequestMeta): CodeAttempt {
    return {
      user: principal.user,
      clientId: principal.activeClient.id,
      ip: meta.ip,
      pendingSessionId: principal.session.id,
    };
  }

  private context(principal: Principal, meta: RequestMeta) {
    return {
      actorUserId: principal.user.id,
      targetUserId: principal.user.id,
      clientId: principal.activeClient.id,
      ip: meta.ip,
    };
  }
}
