import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';

import { COMMON_ERRORS, CommonException } from '../common/common.exception';
import { Public } from '../common/decorators';
import { ApiErrors } from '../common/openapi';
import { MailOutboxService } from '../notifications/mail-outbox.service';

const DATABASE_PING_TIMEOUT_MS = 2000;

@ApiTags('Service')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly outbox: MailOutboxService,
  ) {}

  /** 200 while the database answers, with the state of mail; 503 only when it does not. */
  @Get()
  @Public()
  @ApiOkResponse({
    description: 'The database answers',
    schema: {
      example: { status: 'ok', database: 'up', mail: { backlog: 0, failed: 0 } },
    },
  })
  @ApiErrors(COMMON_ERRORS.databaseUnavailable)
  async check() {
    try {
      await this.health.check([
        () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      ]);
    } catch {
      throw CommonException.databaseUnavailable();
    }
    const mail = await this.outbox.stats();

    return { status: 'ok', database: 'up', mail };
  }
}
