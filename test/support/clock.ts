import type { Clock } from '../../src/chat/ports.js';

/** A clock tests can set; it runs with real time from wherever it was set. */
export class TestClock implements Clock {
  #offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  set(at: Date | string): void {
    this.#offsetMs = new Date(at).getTime() - Date.now();
  }

  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}
