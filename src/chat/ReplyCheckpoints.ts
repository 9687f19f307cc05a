import type { Clock } from './ports.js';

/**
 * Saves a streaming reply every `intervalMs` or so, so an instance lost mid-turn leaves what the model had produced
 * (read as `incomplete` once the turn's lease passes) instead of an empty placeholder. One save at a time: a save
 * still running when the next is due is not queued behind, and `settled()` lets the final write wait for the last
 * one, so a late checkpoint never lands on top of the finished message.
 */
export class ReplyCheckpoints {
  readonly #save: (content: string) => Promise<unknown>;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #onFailure: (error: unknown) => void;
  #last: number;
  #inFlight: Promise<void> | null = null;

  /** `onFailure` hears of a save that failed: nothing waits on a checkpoint, the final write stores the whole reply. */
  constructor(save: (content: string) => Promise<unknown>, intervalMs: number, clock: Clock, onFailure: (error: unknown) => void) {
    this.#save = save;
    this.#intervalMs = intervalMs;
    this.#clock = clock;
    this.#onFailure = onFailure;
    this.#last = clock.now().getTime();
  }

  /** The reply so far; saved when the interval has passed and no save is running. Failures go to `onFailure`; the final write stores the reply. */
  offer(content: string): void {
    const now = this.#clock.now().getTime();
    if (this.#inFlight || now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#inFlight = this.#save(content).then(
      () => undefined,
      (error: unknown) => this.#onFailure(error),
    ).finally(() => {
      this.#inFlight = null;
    });
  }

  /** Resolves once no save is running. */
  async settled(): Promise<void> {
    await this.#inFlight;
  }
}
