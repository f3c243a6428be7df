import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

import { EnvironmentError, validateEnvironment } from '../config/environment';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';

async function bootstrap(): Promise<void> {
  let env;
  try {
    env = validateEnvironment(process.env);
  } catch (error) {
    if (error instanceof EnvironmentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const app = await NestFactory.create<NestExpressApplication>(AppModule.register({ env }), {
    // Lines logged while the application is assembled (the development key warning) wait for
    // the structured logger; on a failed start Nest writes them out as they are.
    bufferLogs: true,
    bodyParser: false,
  });
  configureApp(app, env);
  app.enableShutdownHooks();
  await app.listen(env.PORT);
}

void bootstrap();
