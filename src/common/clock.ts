import { Injectable } from '@nestjs/common';

/** The one source of time. Services ask it; tests replace it with a clock they can move. */
export abstract class Clock {
  abstract now(): Date;
}

@Injectable()
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
