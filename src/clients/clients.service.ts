import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';

import { Clock } from '../common/clock';
import { CommonException } from '../common/common.exception';
import { TransactionRunner } from '../database/transaction-runner';
import { offersTwoFactor } from '../two-factor/two-factor-policy';
import { TwoFactorException } from '../two-factor/two-factor.exception';
import { Client, ClientKind } from './client.entity';
import { ClientsException } from './clients.exception';

export interface CreateClientInput {
  name: string;
  kind: ClientKind;
  groupId?: number | null;
  requireTwoFactor?: boolean;
}

@Injectable()
export class ClientsService {
  constructor(
    @InjectRepository(Client) private readonly clients: Repository<Client>,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
  ) {}

  findById(id: number): Promise<Client | null> {
    return this.clients.findOneBy({ id });
  }

  async getByIdOrThrow(id: number): Promise<Client> {
    const client = await this.findById(id);
    if (!client) {
      throw CommonException.notFound('Client');
    }

    return client;
  }

  /** The members of a group client, in id order. */
  findMembers(groupId: number): Promise<Client[]> {
    return this.clients.find({ where: { groupId }, order: { id: 'ASC' } });
  }

  /**
   * The clients a user of `home` can act in: the home client, and for a group client each of
   * its members. The home client comes first.
   */
  async findReachable(home: Client): Promise<Client[]> {
    if (home.kind !== 'group') {
      return [home];
    }

    return [home, ...(await this.findMembers(home.id))];
  }

  async findReachableIds(home: Client): Promise<number[]> {
    return (await this.findReachable(home)).map((client) => client.id);
  }

  findByIds(ids: number[]): Promise<Client[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.clients.findBy({ id: In(ids) });
  }

  async create(input: CreateClientInput, manager?: EntityManager): Promise<Client> {
    const work = async (tx: EntityManager): Promise<Client> => {
      if (input.groupId !== undefined && input.groupId !== null) {
        const group = await tx.findOneBy(Client, { id: input.groupId });
        if (!group || group.kind !== 'group') {
          throw ClientsException.invalidGroup(`Client ${input.groupId} is not a group client`);
        }
        if (input.kind !== 'standard') {
          throw ClientsException.invalidGroup('Only standard clients can belong to a group');
        }
      }
      if (input.requireTwoFactor === true && !offersTwoFactor(input)) {
        throw TwoFactorException.unavailableForClient();
      }
      const now = this.clock.now();

      return tx.save(
        tx.create(Client, {
          name: input.name,
          kind: input.kind,
          groupId: input.groupId ?? null,
          requireTwoFactor: input.requireTwoFactor ?? false,
          createdAt: now,
          updatedAt: now,
        }),
      );
    };

    return manager ? work(manager) : this.transactions.run(work);
  }
}
