import { UpstreamError } from '../chat/errors.js';
import type { CompletionEvent, FinishReason, ModelUsage } from '../chat/ports.js';
import { streamFailure } from './upstreamFailure.js';

/** What a wire's chunk source yields for `data: [DONE]`: the stream is over and the connection can be reused. */
export const STREAM_DONE = Symbol('[DONE]');

/** How long to wait for chunks, and how to tear the connection down when the wait runs out or the reader leaves. */
export interface StreamWatch {
  /** Epoch ms by which the first chunk must arrive (the first-byte deadline of the request). */
  readonly firstEventDeadline: number;
  /** Silence allowed between two chunks once the stream has started. */
  readonly idleTimeoutMs: number;
  /** The caller's signal: once aborted, the next read throws its reason (`abort` has torn the connection down). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Called exactly once when the generator finishes, whichever way; `clean` when the source was read to its end
   * (or `[DONE]`), so the connection can go back to the pool.
   */
  readonly close: (clean: boolean) => void;
  /** Tears the connection down at once, so that a pending read settles (rejects or ends); `close` still follows. */
  readonly abort: () => void;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finishReasonOf(value: unknown): FinishReason | null {
  return value === 'stop' || value === 'length' || value === 'content_filter' ? value : null;
}

function usageOf(value: unknown): ModelUsage | null {
  if (!isObject(value)) return null;
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total } = value;
  if (typeof prompt !== 'number' || typeof completion !== 'number') return null;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: typeof total === 'number' ? total : prompt + completion };
}

/** Parses one SSE `data` line of a chat-completions stream: `[DONE]`, or a JSON object. */
export function parseChunk(data: string): unknown {
  if (data === '[DONE]') return STREAM_DONE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new UpstreamError('upstream_error', 'The model stream sent a chunk that is not JSON.');
  }
  if (!isObject(parsed)) throw new UpstreamError('upstream_error', 'The model stream sent a chunk that is not an object.');
  return parsed;
}

/**
 * Turns a chat-completions chunk stream (the same chunk shape on both wires) into completion events: a `delta` per
 * non-empty content piece of choice 0, then one `end` with the finish reason, the usage from whichever chunk
 * carried it, and the model name. Chunks without choices (or with `choices: []`) are fine. A stream that breaks,
 * sends something unparsable, ends without finishing, or stays silent too long throws an `UpstreamError`; an
 * aborted caller's signal throws its reason; whatever was yielded stays valid.
 */
export async function* completionEvents(chunks: AsyncIterable<unknown>, watch: StreamWatch): AsyncGenerator<CompletionEvent, void, undefined> {
  const iterator = chunks[Symbol.asyncIterator]();
  const { signal } = watch;
  let started = false;
  let clean = false;
  let finishReason: FinishReason | null = null;
  let finished = false;
  let usage: ModelUsage | null = null;
  let model: string | null = null;
  // One timer for the whole stream, pushed back on every chunk (a timer and a race per chunk cost more than the
  // relay itself). When it fires it tears the connection down, which settles the pending read.
  let timedOut = false;
  const expire = (): void => {
    timedOut = true;
    watch.abort();
  };
  // A reader that comes late to a stream whose first chunk is already buffered still gets a moment to read it.
  let timer = setTimeout(expire, Math.max(25, watch.firstEventDeadline - Date.now()));
  const timeout = (): UpstreamError =>
    new UpstreamError('upstream_timeout', started ? `The model stream was silent for ${watch.idleTimeoutMs} ms.` : 'The model sent nothing before the first-byte deadline.');
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        signal?.throwIfAborted();
        step = await iterator.next();
      } catch (cause) {
        signal?.throwIfAborted();
        if (timedOut) throw timeout();
        if (cause instanceof UpstreamError) throw cause;
        throw Object.assign(new UpstreamError('upstream_error', 'The model stream broke off.'), { cause });
      }
      // A torn-down connection may end the source quietly instead of failing it.
      signal?.throwIfAborted();
      if (timedOut) throw timeout();
      if (started) {
        timer.refresh();
      } else {
        started = true;
        clearTimeout(timer);
        timer = setTimeout(expire, watch.idleTimeoutMs);
      }
      if (step.done || step.value === STREAM_DONE) {
        clean = true;
        // `[DONE]` is the wire saying it is done, and a finish reason the model saying so; one is enough.
        if (finished || !step.done) break;
        throw new UpstreamError('upstream_error', 'The model stream ended before the completion finished.');
      }
      const chunk = step.value;
      if (!isObject(chunk)) throw new UpstreamError('upstream_error', 'The model stream sent a chunk that is not an object.');
      if (chunk.error !== undefined && chunk.error !== null) throw streamFailure(chunk);
      if (typeof chunk.model === 'string') model = chunk.model;
      usage = usageOf(chunk.usage) ?? usage;
      const choices = Array.isArray(chunk.choices) ? (chunk.choices as unknown[]) : [];
      for (const choice of choices) {
        if (!isObject(choice) || (choice.index !== undefined && choice.index !== 0)) continue;
        const content = isObject(choice.delta) ? choice.delta.content : undefined;
        if (typeof content === 'string' && content !== '') yield { type: 'delta', content };
        if (typeof choice.finish_reason === 'string') {
          finished = true;
          finishReason = finishReasonOf(choice.finish_reason);
        }
      }
    }
    yield { type: 'end', finishReason, usage, model };
  } finally {
    clearTimeout(timer);
    watch.close(clean);
  }
}
