import type { EventMessage } from '@azure/core-sse';
import { UpstreamError } from '../chat/errors.js';
import type { CompletionEvent, FinishReason, ModelUsage } from '../chat/ports.js';
import { errorBodyFields } from './upstreamFailure.js';

/** How long to wait for events, and how to tear the connection down when the wait runs out or the reader leaves. */
export interface StreamWatch {
  /** Epoch ms by which the first event must arrive (the first-byte deadline of the request). */
  readonly firstEventDeadline: number;
  /** Silence allowed between two events once the stream has started. */
  readonly idleTimeoutMs: number;
  /** Called exactly once when the generator finishes, whichever way; `clean` when `[DONE]` was read. */
  readonly close: (clean: boolean) => void;
  /** Tears the connection down at once, so that a pending read settles (rejects or ends); `close` still follows. */
  readonly abort: () => void;
}

interface WireChunk {
  readonly model?: unknown;
  readonly error?: unknown;
  readonly choices?: unknown;
  readonly usage?: unknown;
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

function parseChunk(data: string): WireChunk {
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
 * Turns the model's SSE events into completion events: a `delta` per non-empty content piece of choice 0, then
 * one `end` with the finish reason, the usage from whichever chunk carried it, and the model name. Chunks
 * without choices (or with `choices: []`) are fine. A stream that breaks, sends something unparsable, ends
 * without finishing, or stays silent too long throws an `UpstreamError`; whatever was yielded stays valid.
 */
export async function* completionEvents(events: AsyncIterable<EventMessage>, watch: StreamWatch): AsyncGenerator<CompletionEvent, void, undefined> {
  const iterator = events[Symbol.asyncIterator]();
  let started = false;
  let clean = false;
  let finishReason: FinishReason | null = null;
  let finished = false;
  let usage: ModelUsage | null = null;
  let model: string | null = null;
  // One timer for the whole stream, pushed back on every event (a timer and a race per event cost more than the
  // relay itself). When it fires it tears the connection down, which settles the pending read.
  let timedOut = false;
  const expire = (): void => {
    timedOut = true;
    watch.abort();
  };
  // A reader that comes late to a stream whose first event is already buffered still gets a moment to read it.
  let timer = setTimeout(expire, Math.max(25, watch.firstEventDeadline - Date.now()));
  const timeout = (): UpstreamError =>
    new UpstreamError('upstream_timeout', started ? `The model stream was silent for ${watch.idleTimeoutMs} ms.` : 'The model sent nothing before the first-byte deadline.');
  try {
    for (;;) {
      let step: IteratorResult<EventMessage>;
      try {
        step = await iterator.next();
      } catch (cause) {
        if (timedOut) throw timeout();
        throw Object.assign(new UpstreamError('upstream_error', 'The model stream broke off.'), { cause });
      }
      if (timedOut) throw timeout();
      if (started) {
        timer.refresh();
      } else {
        started = true;
        clearTimeout(timer);
        timer = setTimeout(expire, watch.idleTimeoutMs);
      }
      if (step.done) {
        // A finish reason is the model saying it is done; only `[DONE]` itself is missing.
        if (finished) break;
        throw new UpstreamError('upstream_error', 'The model stream ended before the completion finished.');
      }
      if (step.value.data === '[DONE]') {
        clean = true;
        break;
      }
      const chunk = parseChunk(step.value.data);
      if (chunk.error !== undefined) {
        const { code } = errorBodyFields(JSON.stringify(chunk));
        throw new UpstreamError(code === 'content_filter' ? 'content_filtered' : 'upstream_error', 'The model stream reported an error.');
      }
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
