import { createParser } from 'eventsource-parser';

/** One server-sent event as received: its name, its data text and its `id:` (undefined when the server sent none). */
export interface SseFrame {
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
}

/**
 * The events of a `text/event-stream` response, in order, as they arrive. A fetch without streaming bodies
 * (React Native's built-in one) has `body === null`: then the whole text is read at the end and parsed at once, so
 * such apps still get every event, only not before the reply is complete.
 */
export async function* sseFrames(response: Response, signal?: AbortSignal): AsyncGenerator<SseFrame> {
  const ready: SseFrame[] = [];
  const parser = createParser({
    onEvent: (e) => ready.push({ event: e.event ?? 'message', data: e.data, id: e.id }),
  });
  if (response.body === null) {
    parser.feed(await response.text());
    yield* ready;
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      yield* ready.splice(0);
    }
    parser.feed(decoder.decode());
    yield* ready.splice(0);
  } finally {
    signal?.removeEventListener('abort', cancel);
    cancel();
  }
}
