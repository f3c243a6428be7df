import { DynamicModule, Global, Module } from '@nestjs/common';

import { Environment } from '../../config/environment';
import { Clock, SystemClock } from './clock';

/** The validated environment and the one clock, for every module. */
@Global()
@Module({})
export class CoreModule {
  static register(env: Environment, clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: Environment, useValue: env },
        { provide: Clock, useValue: clock },
      ],
      exports: [Environment, Clock],
    };
  }
}
