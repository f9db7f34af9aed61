import type { Clock } from '../../src/utils/clock';

/** A clock tests move by hand: expiry and rolling windows without sleeping. */
export class FakeClock implements Clock {
  constructor(private t = Date.now()) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
