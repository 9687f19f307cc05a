import { UpstreamError } from '../chat/errors.js';
import type { ChatModel, CompletionEvent, CompletionRequest, ModelInfo } from '../chat/ports.js';
import { completionEvents } from './completionEvents.js';
import { ConcurrencyLimiter } from './ConcurrencyLimiter.js';
import { retryDelayMs, type HeaderLookup } from './retryDelayMs.js';
import { errorBodyFields, upstreamFailure } from './upstreamFailure.js';

/** Where an adapter reports what went wrong upstream; never given a key or a token. */
export interface UpstreamLogger {
  warn(message: string): void;
}

/** What every model adapter does the same way, whatever its wire. */
export interface ModelCallOptions {
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Total time spent waiting between 429/503 attempts before giving up. */
  readonly retryBudgetMs: number;
  readonly maxConcurrency: number;
  /** Attempts per request, the first included (default 8); the budget usually ends retries first. */
  readonly maxAttempts?: number;
  readonly logger?: UpstreamLogger;
}

/** What one attempt on a wire came back with: an open chunk stream, or an answer that is not one. */
export type WireAnswer =
  | {
    readonly ok: true;
    /** Parsed chunks in order (`STREAM_DONE` for `[DONE]` where the wire shows it). */
    readonly chunks: AsyncIterable<unknown>;
    /**
     * Ends the connection: `clean` after the stream was read to its end (give the connection back to the pool);
     * otherwise tear it down at once so a pending read settles. May be called more than once.
     */
    readonly end: (clean: boolean) => void;
  }
  | { readonly ok: false; readonly status: number; readonly header: HeaderLookup; readonly body: unknown };

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const stop = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    if (signal?.aborted) return void reject(signal.reason);
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });

/**
 * What every model adapter does the same way, whatever its wire: the concurrency limit, the first-byte and idle
 * timeouts, the 429/503 retries (before anything is yielded only, honouring the service's retry-after headers
 * within `retryBudgetMs`), the failure mapping, the caller's abort signal, and the completion events. Once a stream
 * has started it is never retried: a break surfaces as an `UpstreamError` from the iterator. An adapter adds only
 * its wire (`send`) and `info()`.
 */
export abstract class ModelCalls implements ChatModel {
  readonly #options: ModelCallOptions;
  readonly #limiter: ConcurrencyLimiter;
  readonly #logger: UpstreamLogger;

  constructor(options: ModelCallOptions) {
    this.#options = options;
    this.#limiter = new ConcurrencyLimiter(options.maxConcurrency);
    this.#logger = options.logger ?? { warn: (message) => console.warn(message) };
  }

  /**
   * One attempt of a streamed chat completion on the wire, aborted through `signal` (the first-byte deadline or the
   * caller). Resolves once the status line is in; rejects only when no answer came (refused, reset, aborted).
   */
  protected abstract send(request: CompletionRequest, signal: AbortSignal): Promise<WireAnswer>;

  abstract info(): Promise<ModelInfo | null>;

  get logger(): UpstreamLogger {
    return this.#logger;
  }

  /** Upstream calls in flight (streams count until they end) and callers waiting for a slot. */
  get load(): { readonly inFlight: number; readonly queued: number } {
    return { inFlight: this.#limiter.inFlight, queued: this.#limiter.queued };
  }

  async stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>> {
    const { signal } = request;
    const release = await this.#limiter.acquire(request.waitForSlot === false ? 0 : this.#options.firstByteTimeoutMs, signal);
    if (!release) {
      throw new UpstreamError('upstream_unavailable', 'Too many model calls are in flight on this instance; try again shortly.', 1);
    }
    let opened: { answer: Extract<WireAnswer, { ok: true }>; controller: AbortController; firstByteDeadline: number };
    try {
      opened = await this.#open(request);
    } catch (error) {
      release();
      throw error;
    }
    const { answer, controller, firstByteDeadline } = opened;
    // Releases too: a stream dropped before its first read never runs the generator's own clean-up.
    const tearDown = (): void => {
      signal?.removeEventListener('abort', tearDown);
      controller.abort();
      answer.end(false);
      release();
    };
    signal?.addEventListener('abort', tearDown, { once: true });
    const events = completionEvents(answer.chunks, {
      firstEventDeadline: firstByteDeadline,
      idleTimeoutMs: this.#options.idleTimeoutMs,
      signal,
      abort: tearDown,
      close: (clean) => {
        signal?.removeEventListener('abort', tearDown);
        if (clean) answer.end(true);
        else tearDown();
        release();
      },
    });
    let reading = false;
    const iterator: AsyncIterator<CompletionEvent, void, undefined> = {
      next: () => {
        reading = true;
        return events.next();
      },
      // A generator returned before its first next() skips its finally: the connection and the slot go here.
      return: () => {
        if (!reading) tearDown();
        return events.return();
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  async #open(request: CompletionRequest): Promise<{ answer: Extract<WireAnswer, { ok: true }>; controller: AbortController; firstByteDeadline: number }> {
    const { signal } = request;
    const { firstByteTimeoutMs, retryBudgetMs } = this.#options;
    const maxAttempts = this.#options.maxAttempts ?? 8;
    let waited = 0;
    for (let attempt = 1; ; attempt += 1) {
      signal?.throwIfAborted();
      const controller = new AbortController();
      const firstByteDeadline = Date.now() + firstByteTimeoutMs;
      const timer = setTimeout(() => controller.abort(), firstByteTimeoutMs);
      const forward = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', forward, { once: true });
      let answer: WireAnswer;
      try {
        answer = await this.send(request, controller.signal);
      } catch (error) {
        signal?.throwIfAborted();
        if (controller.signal.aborted) {
          throw new UpstreamError('upstream_timeout', `The model did not answer within ${firstByteTimeoutMs} ms.`);
        }
        this.#logger.warn(`Model request failed before a response: ${error instanceof Error ? error.message : String(error)}`);
        throw new UpstreamError('upstream_unavailable', 'The model endpoint could not be reached.');
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', forward);
      }
      if (answer.ok) {
        if (signal?.aborted) {
          controller.abort();
          answer.end(false);
          throw signal.reason;
        }
        return { answer, controller, firstByteDeadline };
      }

      const { status, header, body } = answer;
      const { message } = errorBodyFields(body);
      this.#logger.warn(`Model answered ${status} (attempt ${attempt}): ${message ?? 'no message'}`);
      if (status !== 429 && status !== 503) throw upstreamFailure(status, body);
      const asked = retryDelayMs(header);
      const delay = asked ?? Math.min(500 * 2 ** (attempt - 1), 8_000);
      if (attempt < maxAttempts && waited + delay <= retryBudgetMs) {
        await sleep(delay, signal);
        waited += delay;
        continue;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil(delay / 1000));
      throw status === 429
        ? new UpstreamError('rate_limited', 'The model deployment is throttling requests.', retryAfterSeconds, 429)
        : new UpstreamError('upstream_unavailable', 'The model deployment is unavailable.', asked === undefined ? undefined : retryAfterSeconds, 503);
    }
  }
}
