/** Which headers a throttling answer carries its wait in; the real service family uses all of these. */
export type RetryAfterHeader = 'retry-after-ms' | 'x-ms-retry-after-ms' | 'retry-after' | 'retry-after-date';

/**
 * One failure the simulator can produce on a completion request (either wire). Faults are data, queued through the
 * programmatic API, so no prompt text ever triggers one by accident.
 */
export type Fault =
  /** Answer with this status and an error body instead of a completion (429 and 503 carry a retry-after wait). */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterMs?: number; readonly retryAfterHeaders?: readonly RetryAfterHeader[] }
  /** The seed's 400 content-filter body (`codeAtTopLevel` moves `code` to the top level, as some samples read it). */
  | { readonly kind: 'contentFilter'; readonly codeAtTopLevel?: boolean }
  /** Write this many SSE data events (the role chunk included), then destroy the socket. */
  | { readonly kind: 'dropAfterChunks'; readonly chunks: number }
  /** Wait this long before sending the status line and headers. */
  | { readonly kind: 'firstByteDelayMs'; readonly ms: number }
  /** Send the status line and headers at once, then wait this long before the first SSE event. */
  | { readonly kind: 'firstChunkDelayMs'; readonly ms: number }
  /** Leave `usage` out of the response. */
  | { readonly kind: 'noUsage' }
  /** Send an unparsable `data:` line after the first content chunk. */
  | { readonly kind: 'garbageLine' }
  /** Add a chunk without `choices` mid-stream and move `usage` to a trailing chunk with `choices: []`. */
  | { readonly kind: 'chunkWithoutChoices' }
  /** Send the role chunk and the content chunks, then hang: no finish chunk, no `[DONE]`, socket left open. */
  | { readonly kind: 'neverEnd' }
  /** Wait this long between two chunks of this response. */
  | { readonly kind: 'chunkDelayMs'; readonly ms: number }
  /** End the stream with `finish_reason: "content_filter"` after this many content chunks. */
  | { readonly kind: 'filterMidStream'; readonly afterChunks: number };

/**
 * Which requests a queued fault waits for, told by their body (`max_tokens`), never by prompt text: e.g. the
 * service's title call (32) beside a reply that asks for more.
 */
export interface RequestMatch {
  readonly maxTokens: number;
}

/** What a fault's match is tested against: the completion request as received. */
export interface MatchedRequest {
  readonly maxTokens: number | undefined;
}

interface Plan {
  readonly faults: readonly Fault[];
  remaining: number;
  readonly match?: RequestMatch;
}

/**
 * The faults the next completion requests will suffer, in order. Each entry applies to one request at a time, as
 * many times as asked, then the next entry takes over; requests with nothing queued are served normally.
 */
export class FaultQueue {
  readonly #plans: Plan[] = [];

  /** Queue `fault` (or several faults applied together to the same request) for the next `times` requests. */
  next(fault: Fault | readonly Fault[], times = 1): this {
    if (!Number.isInteger(times) || times < 1) throw new RangeError('times must be a whole number ≥ 1');
    const faults = Array.isArray(fault) ? (fault as readonly Fault[]) : [fault as Fault];
    this.#plans.push({ faults, remaining: times });
    return this;
  }

  /**
   * Queue `fault` for the next `times` requests that `match` (other requests pass it by and take the entries
   * queued without a match, in order).
   */
  nextFor(match: RequestMatch, fault: Fault | readonly Fault[], times = 1): this {
    this.next(fault, times);
    const plan = this.#plans.pop() as Plan;
    this.#plans.push({ ...plan, match });
    return this;
  }

  /** The faults for the request now being served (empty when nothing is queued for it). */
  take(request: MatchedRequest = { maxTokens: undefined }): readonly Fault[] {
    const at = this.#plans.findIndex((p) => !p.match || p.match.maxTokens === request.maxTokens);
    const plan = this.#plans[at];
    if (!plan) return [];
    plan.remaining -= 1;
    if (plan.remaining === 0) this.#plans.splice(at, 1);
    return plan.faults;
  }

  /** Requests that will still see a fault. */
  get pending(): number {
    return this.#plans.reduce((sum, p) => sum + p.remaining, 0);
  }

  clear(): void {
    this.#plans.length = 0;
  }
}
