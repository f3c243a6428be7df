import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, MoreThan, Repository } from 'typeorm';

import { Environment } from '../../config/environment';
import { Clock } from '../common/clock';
import { DAY_MS, addMs } from '../common/time';
import { hashToken, newToken } from '../common/tokens';
import { TransactionRunner } from '../database/transaction-runner';
import { TrustedDevice } from './trusted-device.entity';

/**
 * Browsers that may skip the code for one user, for TRUSTED_DEVICE_DAYS from their creation
 * (absolute; use does not extend it). Stored only as token hashes.
 */
@Injectable()
export class TrustedDevicesService {
  readonly lifetimeMs: number;

  constructor(
    @InjectRepository(TrustedDevice) private readonly devices: Repository<TrustedDevice>,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
    env: Environment,
  ) {
    this.lifetimeMs = env.TRUSTED_DEVICE_DAYS * DAY_MS;
  }

  async add(
    manager: EntityManager,
    userId: number,
    userAgent: string | null,
  ): Promise<{ token: string; device: TrustedDevice }> {
    const token = newToken();
    const now = this.clock.now();
    const device = await manager.save(
      manager.create(TrustedDevice, {
        userId,
        tokenHash: hashToken(token),
        userAgent,
        createdAt: now,
        lastUsedAt: null,
        expiresAt: addMs(now, this.lifetimeMs),
      }),
    );

    return { token, device };
  }

  /** The device for `token` if it belongs to `userId` and has not expired; marks it used. */
  async useIfValid(userId: number, token: string | undefined): Promise<TrustedDevice | null> {
    if (!token || token.length > 200) {
      return null;
    }
    const device = await this.devices.findOneBy({ tokenHash: hashToken(token) });
    const now = this.clock.now();
    if (!device || device.userId !== userId || device.expiresAt.getTime() <= now.getTime()) {
      return null;
    }
    await this.transactions.run((manager) =>
      manager.update(TrustedDevice, { id: device.id }, { lastUsedAt: now }),
    );
    device.lastUsedAt = now;

    return device;
  }

  /** The user's devices that still skip the code (expired ones wait for the hourly clean-up). */
  listForUser(userId: number): Promise<TrustedDevice[]> {
    return this.devices.find({
      where: { userId, expiresAt: MoreThan(this.clock.now()) },
      order: { id: 'ASC' },
    });
  }

  async revoke(manager: EntityManager, userId: number, deviceId: number): Promise<boolean> {
    const result = await manager.delete(TrustedDevice, { id: deviceId, userId });

    return (result.affected ?? 0) > 0;
  }

  async revokeAll(manager: EntityManager, userId: number): Promise<number> {
    const result = await manager.delete(TrustedDevice, { userId });

    return result.affected ?? 0;
  }

  async deleteExpired(now: Date): Promise<number> {
    const result = await this.transactions.run((manager) =>
      manager
        .createQueryBuilder()
        .delete()
        .from(TrustedDevice)
        .where('expires_at <= :now', { now })
        .execute(),
    );

    return result.affected ?? 0;
  }
}
