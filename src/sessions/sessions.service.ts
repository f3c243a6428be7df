import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, IsNull, Not, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { MINUTE_MS, HOUR_MS, addMs } from '../common/time';
import { hashToken, newToken } from '../common/tokens';
import { Statements } from '../database/statements';
import { TransactionRunner } from '../database/transaction-runner';
import { Channel, Session } from './session.entity';

export const PENDING_SESSION_MS = 5 * MINUTE_MS;
export const SESSION_IDLE_MS = 30 * MINUTE_MS;
export const SESSION_ABSOLUTE_MS = 12 * HOUR_MS;
// The idle mark is written at most once a minute, so reads stay reads.
export const IDLE_MARK_INTERVAL_MS = MINUTE_MS;
export const MAX_CODE_FAILURES_PER_SESSION = 5;

export interface IssueSessionInput {
  userId: number;
  channel: Channel;
  activeClientId: number;
  passwordVerifiedAt: Date;
  secondFactorVerifiedAt: Date | null;
  /** A pending session waits for the second factor and lives 5 minutes. */
  pending: boolean;
  ip: string | null;
  userAgent: string | null;
}

export interface IssuedSession {
  token: string;
  session: Session;
}

@Injectable()
export class SessionsService {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly transactions: TransactionRunner,
    private readonly statements: Statements,
    private readonly clock: Clock,
  ) {}

  async issue(manager: EntityManager, input: IssueSessionInput): Promise<IssuedSession> {
    const token = newToken();
    const now = this.clock.now();
    const session = manager.create(Session, {
      tokenHash: hashToken(token),
      userId: input.userId,
      channel: input.channel,
      activeClientId: input.activeClientId,
      passwordVerifiedAt: input.passwordVerifiedAt,
      secondFactorVerifiedAt: input.secondFactorVerifiedAt,
      failedCodeAttempts: 0,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: addMs(now, input.pending ? PENDING_SESSION_MS : SESSION_ABSOLUTE_MS),
      ip: input.ip,
      userAgent: input.userAgent,
    });
    // A plain INSERT: every login and code step issues a session.
    session.id = (await this.statements.insert(manager, Session, session)) as number;

    return { token, session };
  }

  /** A session is live until its absolute end and until it has been idle for 30 minutes. */
  isLive(session: Session): boolean {
    const now = this.clock.now().getTime();
    const idleEnd = session.lastSeenAt.getTime() + SESSION_IDLE_MS;

    return now < session.expiresAt.getTime() && now < idleEnd;
  }

  async touch(session: Session): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() - session.lastSeenAt.getTime() < IDLE_MARK_INTERVAL_MS) {
      return;
    }
    await this.transactions.run((manager) =>
      manager.update(Session, { id: session.id }, { lastSeenAt: now }),
    );
    session.lastSeenAt = now;
  }

  async end(manager: EntityManager, sessionId: number): Promise<void> {
    await manager.delete(Session, { id: sessionId });
  }

  /** Ends every session of the user (all channels), except `exceptSessionId` when given. */
  async endAllForUser(
    manager: EntityManager,
    userId: number,
    exceptSessionId?: number,
  ): Promise<number> {
    const result = await manager.delete(
      Session,
      exceptSessionId === undefined ? { userId } : { userId, id: Not(exceptSessionId) },
    );

    return result.affected ?? 0;
  }

  async setActiveClient(
    manager: EntityManager,
    sessionId: number,
    clientId: number,
  ): Promise<void> {
    await manager.update(Session, { id: sessionId }, { activeClientId: clientId });
  }

  async markSecondFactorVerified(manager: EntityManager, sessionId: number): Promise<void> {
    await manager.update(
      Session,
      { id: sessionId, secondFactorVerifiedAt: IsNull() },
      { secondFactorVerifiedAt: this.clock.now() },
    );
  }

  /**
   * Counts a wrong code against a pending session; the fifth ends it. Returns true when the
   * session was ended.
   */
  async recordCodeFailure(manager: EntityManager, sessionId: number): Promise<boolean> {
    await manager
      .createQueryBuilder()
      .update(Session)
      .set({ failedCodeAttempts: () => 'failed_code_attempts + 1' })
      .where('id = :id', { id: sessionId })
      .execute();
    const ended = await manager
      .createQueryBuilder()
      .delete()
      .from(Session)
      .where('id = :id AND failed_code_attempts >= :limit', {
        id: sessionId,
        limit: MAX_CODE_FAILURES_PER_SESSION,
      })
      .execute();

    return (ended.affected ?? 0) > 0;
  }

  /** Removes sessions past their absolute end or idle limit; returns how many. */
  async deleteExpired(now: Date): Promise<number> {
    const result = await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .delete()
        .from(Session)
        .where('expires_at <= :now OR last_seen_at <= :idle', {
          now,
          idle: addMs(now, -SESSION_IDLE_MS),
        })
        .execute(),
    );

    return result.affected ?? 0;
  }
}
