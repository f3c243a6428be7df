import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { hashToken } from '../common/tokens';
import { AppPrincipal, Principal } from '../common/request-context';
import { JoinedRow } from '../database/joined-row';
import { Session } from '../sessions/session.entity';
import { SessionsService } from '../sessions/sessions.service';
import {
  TwoFactorCredential,
  isCredentialActive,
} from '../two-factor/two-factor-credential.entity';
import { deriveStage } from '../two-factor/two-factor-policy';
import { User } from '../users/user.entity';

export type ResolvedCaller =
  { channel: 'backoffice'; principal: Principal } | { channel: 'app'; principal: AppPrincipal };

/**
 * Turns a session token into the caller: the session, the user, their clients and 2FA state,
 * read fresh on every request, and the stage derived from them. Nothing is cached, so a
 * passed deadline or an administrator's reset applies at the next request.
 *
 * One query reads them all (every request pays for it): the session by its token hash, its
 * user, the home client, the session's active client, the 2FA credential and how many
 * recovery codes are left (for GET /me, which every page of the frontend asks).
 */
@Injectable()
export class PrincipalService {
  private readonly joined: JoinedRow;
  private query?: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sessions: SessionsService,
    private readonly clock: Clock,
  ) {
    this.joined = new JoinedRow(dataSource);
  }

  async resolve(token: string, viaCookie: boolean): Promise<ResolvedCaller | null> {
    const [row] = await this.dataSource.query<Record<string, unknown>[]>(this.principalQuery(), [
      hashToken(token),
    ]);
    if (!row) {
      return null;
    }
    // The inner joins: a row always has its session, user and home client.
    const session = this.joined.read(Session, 's', row) as Session;
    const user = this.joined.read(User, 'u', row) as User;
    if (!this.sessions.isLive(session) || !user.active) {
      return null;
    }
    await this.sessions.touch(session);
    if (session.channel !== 'backoffice') {
      return { channel: 'app', principal: { session, user } };
    }

    const homeClient = this.joined.read(Client, 'hc', row) as Client;
    const sessionClient = this.joined.read(Client, 'ac', row);
    const credential = this.joined.read(TwoFactorCredential, 'c', row);

    const principal = this.backoffice(session, user, homeClient, sessionClient, credential);

    return {
      channel: 'backoffice',
      principal: { ...principal, recoveryCodesLeft: Number(row.recovery_codes_left), viaCookie },
    };
  }

  private principalQuery(): string {
    const { joined } = this;
    this.query ??=
      `SELECT ${joined.select(Session, 's')}, ${joined.select(User, 'u')}, ` +
      `${joined.select(Client, 'hc')}, ${joined.select(Client, 'ac')}, ` +
      `${joined.select(TwoFactorCredential, 'c')}, ` +
      '(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = s.user_id AND r.used_at IS NULL) ' +
      'AS recovery_codes_left ' +
      'FROM sessions s ' +
      'INNER JOIN users u ON u.id = s.user_id ' +
      'INNER JOIN clients hc ON hc.id = u.client_id ' +
      // The active client only when it is not the home client, which is read already.
      'LEFT JOIN clients ac ON ac.id = s.active_client_id AND s.active_client_id <> u.client_id ' +
      'LEFT JOIN two_factor_credentials c ON c.user_id = s.user_id ' +
      'WHERE s.token_hash = ?';

    return this.query;
  }

  private backoffice(
    session: Session,
    user: User,
    homeClient: Client,
    sessionClient: Client | null,
    credential: TwoFactorCredential | null,
  ): Omit<Principal, 'recoveryCodesLeft' | 'viaCookie'> {
    // A member client that left the group since the switch is no longer reachable.
    const activeClient =
      sessionClient && sessionClient.groupId === homeClient.id ? sessionClient : homeClient;
    const twoFactorActive = isCredentialActive(credential);
    const stage = deriveStage(
      session,
      { user, homeClient, activeClient, active: twoFactorActive },
      this.clock.now(),
    );

    return {
      session,
      user,
      homeClient,
      activeClient,
      stage,
      twoFactorActive,
      twoFactorActivatedAt: twoFactorActive ? (credential?.activatedAt ?? null) : null,
    };
  }
}
