import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { Client } from '../clients/client.entity';
import { Clock } from '../common/clock';
import { AppPrincipal, Principal } from '../common/request-context';
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
 */
@Injectable()
export class PrincipalService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sessions: SessionsService,
    private readonly clock: Clock,
  ) {}

  async resolve(token: string, viaCookie: boolean): Promise<ResolvedCaller | null> {
    const session = await this.sessions.findLive(token);
    if (!session) {
      return null;
    }
    const user = await this.dataSource.getRepository(User).findOneBy({ id: session.userId });
    if (!user?.active) {
      return null;
    }
    await this.sessions.touch(session);
    if (session.channel !== 'backoffice') {
      return { channel: 'app', principal: { session, user } };
    }

    return { channel: 'backoffice', principal: await this.backoffice(session, user, viaCookie) };
  }

  private async backoffice(session: Session, user: User, viaCookie: boolean): Promise<Principal> {
    const clients = this.dataSource.getRepository(Client);
    const [homeClient, sessionClient, credential] = await Promise.all([
      clients.findOneByOrFail({ id: user.clientId }),
      session.activeClientId === user.clientId
        ? null
        : clients.findOneBy({ id: session.activeClientId }),
      this.dataSource.getRepository(TwoFactorCredential).findOneBy({ userId: user.id }),
    ]);
    // A member client that left the group since the switch is no longer reachable.
    const activeClient =
      sessionClient && sessionClient.groupId === homeClient.id ? sessionClient : homeClient;
    const twoFactorActive = isCredentialActive(credential);
    const stage = deriveStage(
      session,
      { user, homeClient, activeClient, active: twoFactorActive },
      this.clock.now(),
    );

    return { session, user, homeClient, activeClient, stage, twoFactorActive, viaCookie };
  }
}
