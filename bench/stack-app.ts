import 'reflect-metadata';

import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

import { validateEnvironment } from '../config/environment';
import { configureApp } from '../src/app.setup';
import { CoreModule } from '../src/common/core.module';
import { Public } from '../src/common/decorators';
import { LoggingModule } from '../src/common/logging';

/**
 * Not a baseline but a breakdown: the service's HTTP stack (helmet, cookies, the JSON body
 * rules, the validation pipe, the error filter, request logging with a request id) around one
 * public GET route, with no guard and no database. Against the bare route it shows what every
 * request of the service pays before its own work.
 */
@Controller()
class StackController {
  @Get('stack')
  @Public()
  getStack(): { ok: boolean } {
    return { ok: true };
  }
}

async function main(): Promise<void> {
  const env = validateEnvironment(process.env);

  @Module({
    imports: [CoreModule.register(env), LoggingModule.register(env)],
    controllers: [StackController],
  })
  class StackModule {}

  const app = await NestFactory.create<NestExpressApplication>(StackModule, {
    bufferLogs: false,
    bodyParser: false,
  });
  configureApp(app, env);
  app.enableShutdownHooks();
  await app.listen(env.PORT, '127.0.0.1');
}

void main();
