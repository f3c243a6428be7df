import { Clock } from '../../src/common/clock';

/** A clock the test moves by hand. Starts at a fixed instant unless told otherwise. */
export class FakeClock extends Clock {
  private current: number;

  constructor(start: Date | string = '2026-03-02T09:00:00.000Z') {
    super();
    this.current = new Date(start).getTime();
  }

  private stepPerRead = 0;

  now(): Date {
    const now = new Date(this.current);
    this.current += this.stepPerRead;

    return now;
  }

  /** Moves the clock on by `ms` after every read, as a real clock moves during a request. */
  moveOnEachRead(ms: number): void {
    this.stepPerRead = ms;
  }

  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
