/**
 * Bounds how many upstream calls run at once; callers over the bound wait in arrival order. A slot is held from
 * `acquire()` until the returned release function is called (for a stream: until it ends), and releasing twice is
 * harmless, so every exit path can release without bookkeeping.
 */
export class ConcurrencyLimiter {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number ≥ 1');
    this.#limit = limit;
  }

  /**
   * Resolves with a release function once a slot is free, or with null when none came free within `maxWaitMs`
   * (a caller that waits longer than its own deadline gains nothing, and the queue must not grow without bound).
   * Aborting `signal` while waiting leaves the queue and rejects with `signal.reason`.
   */
  async acquire(maxWaitMs = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<(() => void) | null> {
    signal?.throwIfAborted();
    if (this.#active < this.#limit) {
      this.#active += 1;
    } else if (maxWaitMs <= 0) {
      // A caller that will not wait never joins the line (not even for a tick), so it never goes ahead of one that does.
      return null;
    } else {
      // The releasing caller hands its slot straight to us, so `#active` is unchanged.
      const granted = await new Promise<boolean>((resolve, reject) => {
        const leave = (): void => {
          const at = this.#waiting.indexOf(grant);
          if (at >= 0) this.#waiting.splice(at, 1);
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const grant = (): void => {
          leave();
          resolve(true);
        };
        const onAbort = (): void => {
          leave();
          reject(signal?.reason);
        };
        const timer = Number.isFinite(maxWaitMs)
          ? setTimeout(() => {
            leave();
            resolve(false);
          }, maxWaitMs)
          : undefined;
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiting.push(grant);
      });
      if (!granted) return null;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    };
  }

  /** Slots in use. */
  get inFlight(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }
}
