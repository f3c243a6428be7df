import { Injectable } from '@nestjs/common';

import { AuditService } from '../audit/audit.service';
import { ClientsException } from '../clients/clients.exception';
import { ClientsService } from '../clients/clients.service';
import { Clock } from '../common/clock';
import { Principal } from '../common/request-context';
import { TransactionRunner } from '../database/transaction-runner';
import { SessionsService } from '../sessions/sessions.service';
import {
  factsOf,
  deriveStage,
  isTwoFactorRequired,
  offersTwoFactor,
} from '../two-factor/two-factor-policy';
import { TwoFactorPolicyService } from '../two-factor/two-factor-policy.service';
import { TwoFactorService } from '../two-factor/two-factor.service';
import { RequestMeta } from './auth.service';
import { ClientSummaryDto, MeDto } from './dto/me.dto';

/** The caller's own account: what `GET /me` shows, and switching the active client. */
@Injectable()
export class MeService {
  constructor(
    private readonly clients: ClientsService,
    private readonly twoFactor: TwoFactorService,
    private readonly policy: TwoFactorPolicyService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  describe(principal: Principal): MeDto {
    const { user } = principal;
    const facts = factsOf(principal);

    return {
      id: user.id,
      email: user.email,
      name: user.name,
      homeClientId: principal.homeClient.id,
      activeClientId: principal.activeClient.id,
      permissions: user.permissions,
      stage: principal.stage,
      twoFactor: {
        active: principal.twoFactorActive,
        activatedAt: principal.twoFactorActivatedAt?.toISOString() ?? null,
        required: isTwoFactorRequired(facts),
        exempt: user.twoFactorExempt,
        deadline: user.twoFactorDeadline?.toISOString() ?? null,
        available: offersTwoFactor(principal.homeClient),
        recoveryCodesLeft: principal.recoveryCodesLeft,
      },
    };
  }

  /** The clients the caller may act in, the home client first. */
  async listClients(principal: Principal): Promise<ClientSummaryDto[]> {
    const clients = await this.clients.findReachable(principal.homeClient);

    return clients.map(({ id, name, kind }) => ({ id, name, kind }));
  }

  /**
   * A cross-client user moves the session to another client of their group, without a new
   * login. A requirement of the target client applies from now on, deadline included.
   */
  async switchClient(principal: Principal, clientId: number, meta: RequestMeta): Promise<MeDto> {
    const reachable = await this.clients.findReachable(principal.homeClient);
    const target = reachable.find((client) => client.id === clientId);
    if (!target) {
      throw ClientsException.notAccessible();
    }
    if (target.id === principal.activeClient.id) {
      return this.describe(principal);
    }
    const switched: Principal = { ...principal, activeClient: target, user: { ...principal.user } };
    const now = this.clock.now();
    await this.transactions.run(async (tx) => {
      await this.sessions.setActiveClient(tx, principal.session.id, target.id);
      await this.policy.ensureDeadline(tx, principal.user.id, factsOf(switched), now);
      await this.audit.record(
        {
          event: 'client.switched',
          actorUserId: principal.user.id,
          targetUserId: principal.user.id,
          clientId: target.id,
          ip: meta.ip,
          details: { from: principal.activeClient.id },
        },
        tx,
      );
    });
    switched.session = { ...principal.session, activeClientId: target.id };
    switched.stage = deriveStage(switched.session, factsOf(switched), now);

    return this.describe(switched);
  }
}
