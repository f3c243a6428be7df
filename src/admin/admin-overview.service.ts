import { Injectable } from '@nestjs/common';
import { DataSource, SelectQueryBuilder } from 'typeorm';

import { Clock } from '../common/clock';
import { Principal } from '../common/request-context';
import { TwoFactorCredential } from '../two-factor/two-factor-credential.entity';
import { User } from '../users/user.entity';
import { AdminUsersService } from './admin-users.service';
import { CsvCell, csvRecord } from './csv';
import { AdminUserDto } from './dto/admin-user.dto';
import { AdminUserPageDto, UserStateCountsDto } from './dto/admin-user-page.dto';
import { DEFAULT_PAGE_SIZE } from './dto/query-rules';
import { USER_STATES, USER_STATE_SQL, UserState } from './user-state';

export interface UserFilter {
  state?: UserState;
  clientId?: number;
}

// The export reads users in batches by key, so memory stays flat however large the reach.
export const EXPORT_BATCH_SIZE = 500;

const CSV_HEADER = [
  'id',
  'email',
  'name',
  'clientId',
  'state',
  'deadline',
  'active',
  'permissions',
] as const;

interface RowWindow {
  state?: UserState;
  afterId?: number;
  offset?: number;
  limit: number;
}

/**
 * The administrators' overview of their reach: each user with one 2FA state, computed in the
 * database (USER_STATE_SQL) so that the state filter, the counts and the pages agree.
 */
@Injectable()
export class AdminOverviewService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: AdminUsersService,
    private readonly clock: Clock,
  ) {}

  async findPage(
    principal: Principal,
    filter: UserFilter & { page?: number; pageSize?: number },
  ): Promise<AdminUserPageDto> {
    const clientIds = await this.users.reach(principal, filter.clientId);
    const now = this.clock.now();
    const page = filter.page ?? 1;
    const pageSize = filter.pageSize ?? DEFAULT_PAGE_SIZE;

    const [counts, items] = await Promise.all([
      this.countByState(clientIds, now),
      this.findRows(clientIds, now, {
        state: filter.state,
        offset: (page - 1) * pageSize,
        limit: pageSize,
      }),
    ]);
    const total = filter.state
      ? counts[filter.state]
      : USER_STATES.reduce((sum, state) => sum + counts[state], 0);

    return { items, total, page, pageSize, counts };
  }

  /**
   * The CSV of every user matching the filter (no paging), as chunks to stream. The reach is
   * checked and the first batch read before the first chunk, so that a bad filter or an
   * unreachable database is still answered as a JSON error.
   */
  async exportCsv(principal: Principal, filter: UserFilter): Promise<AsyncIterable<string>> {
    const clientIds = await this.users.reach(principal, filter.clientId);
    const now = this.clock.now();
    const first = await this.findRows(clientIds, now, {
      state: filter.state,
      limit: EXPORT_BATCH_SIZE,
    });

    return this.csvChunks(clientIds, now, filter.state, first);
  }

  private async *csvChunks(
    clientIds: number[],
    now: Date,
    state: UserState | undefined,
    first: AdminUserDto[],
  ): AsyncGenerator<string> {
    yield csvRecord(CSV_HEADER);
    let batch = first;
    while (batch.length > 0) {
      yield batch.map((user) => csvRecord(csvCells(user))).join('');
      if (batch.length < EXPORT_BATCH_SIZE) {
        return;
      }
      batch = await this.findRows(clientIds, now, {
        state,
        afterId: batch[batch.length - 1].id,
        limit: EXPORT_BATCH_SIZE,
      });
    }
  }

  private async countByState(clientIds: number[], now: Date): Promise<UserStateCountsDto> {
    const rows = await this.inReach(clientIds, now)
      .select(USER_STATE_SQL, 'state')
      .addSelect('COUNT(*)', 'count')
      .groupBy('state')
      .getRawMany<{ state: UserState; count: number | string }>();
    const counts: UserStateCountsDto = {
      active: 0,
      exempt: 0,
      overdue: 0,
      pending: 0,
      inactive: 0,
    };
    for (const row of rows) {
      counts[row.state] = Number(row.count);
    }

    return counts;
  }

  // Stable order by id: pages do not shift between requests unless users are added.
  private async findRows(
    clientIds: number[],
    now: Date,
    window: RowWindow,
  ): Promise<AdminUserDto[]> {
    const query = this.inReach(clientIds, now).addSelect(USER_STATE_SQL, 'state');
    if (window.state) {
      query.andWhere(`${USER_STATE_SQL} = :state`, { state: window.state });
    }
    if (window.afterId !== undefined) {
      query.andWhere('u.id > :afterId', { afterId: window.afterId });
    }
    query.orderBy('u.id', 'ASC').limit(window.limit);
    if (window.offset) {
      query.offset(window.offset);
    }
    const { entities, raw } = await query.getRawAndEntities<{ u_id: number; state: UserState }>();
    const states = new Map(raw.map((row) => [Number(row.u_id), row.state]));

    return entities.map((user) => {
      const state = states.get(user.id) ?? 'inactive';

      return { ...this.users.describe(user, state === 'active'), state };
    });
  }

  // Tenant first: every overview query starts from the reach's client ids.
  private inReach(clientIds: number[], now: Date): SelectQueryBuilder<User> {
    return this.dataSource
      .getRepository(User)
      .createQueryBuilder('u')
      .leftJoin(TwoFactorCredential, 'c', 'c.user_id = u.id')
      .where('u.client_id IN (:...clientIds)', { clientIds })
      .setParameter('now', now);
  }
}

function csvCells(user: AdminUserDto): CsvCell[] {
  return [
    user.id,
    user.email,
    user.name,
    user.clientId,
    user.state,
    user.deadline,
    user.active,
    user.permissions.join(' '),
  ];
}
