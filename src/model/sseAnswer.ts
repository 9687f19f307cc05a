import { createSseStream, type NodeJSReadableStream } from '@azure/core-sse';
import { parseChunk } from './completionEvents.js';
import type { WireAnswer } from './ModelCalls.js';

/** The SSE events of a body as parsed chunks (`[DONE]` included, as `STREAM_DONE`). */
async function* sseChunks(body: ReadableStream<Uint8Array> | NodeJSReadableStream): AsyncGenerator<unknown, void, undefined> {
  const events = body instanceof ReadableStream ? createSseStream(body) : createSseStream(body);
  for await (const event of events) yield parseChunk(event.data);
}

/** Reads what is left of the source, so the connection goes back to the pool; anything wrong ends it instead. */
async function readOut(chunks: AsyncGenerator<unknown, void, undefined>, destroy: () => void): Promise<void> {
  try {
    while (!(await chunks.next()).done);
  } catch {
    destroy();
  }
}

/**
 * A 200 streaming body as both wires read it: one SSE parser and one chunk parser, whatever the client. `end(true)`
 * (the stream was read to `[DONE]`) reads out the rest of the body, usually just its end, so the keep-alive
 * connection is reused instead of a new TCP/TLS handshake on the next call; `end(false)` calls `destroy`, which
 * must make a pending read settle.
 */
export function sseAnswer(body: ReadableStream<Uint8Array> | NodeJSReadableStream, destroy: () => void): Extract<WireAnswer, { ok: true }> {
  const chunks = sseChunks(body);
  let readingOut = false;
  return {
    ok: true,
    chunks,
    end: (clean) => {
      if (!clean) return destroy();
      if (readingOut) return;
      readingOut = true;
      void readOut(chunks, destroy);
    },
  };
}
