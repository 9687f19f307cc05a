/**
 * The one SSE client of the tests, the bench and the load script: eventsource-parser does the splitting (fields,
 * multi-line data, chunk boundaries anywhere, CR/LF variants), so none of them reads the wire by hand. Strict, because
 * its readers check our own streams: an unknown field or a stream that stops inside a frame throws instead of being
 * skipped as a browser's EventSource would.
 */
import { createParser } from 'eventsource-parser';

/** One item of a text/event-stream, in stream order: an event (data as sent, parsed by the caller) or a comment. */
export type SseItem =
  | { readonly type: 'event'; readonly event: string | undefined; readonly data: string; readonly id: string | undefined }
  | { readonly type: 'comment'; readonly text: string };

/** Push side: text in as it arrives, items out synchronously, so a caller can time them against its own chunks. */
export interface SseSplitter {
  feed(text: string): void;
  /** The stream ended: throws if it ended inside a frame. */
  end(): void;
}

export function sseSplitter(onItem: (item: SseItem) => void): SseSplitter {
  const parser = createParser({
    onEvent: (e) => onItem({ type: 'event', event: e.event, data: e.data, id: e.id }),
    onComment: (text) => onItem({ type: 'comment', text }),
    onError: (error) => {
      throw error;
    },
  });
  // The stream's last two characters: the parser drops an unterminated frame silently, a reader of ours must not.
  let tail = '';
  return {
    feed(text) {
      parser.feed(text);
      tail = text.length >= 2 ? text.slice(-2) : (tail + text).slice(-2);
    },
    end() {
      if (tail !== '' && tail !== '\n\n') throw new Error('the event stream ended inside a frame');
    },
  };
}

/** A response body (fetch's `res.body`, a node:http response) as the items it carries, read to its end. */
export async function* sseEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseItem> {
  const items: SseItem[] = [];
  const splitter = sseSplitter((item) => items.push(item));
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    splitter.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    yield* items.splice(0);
  }
  splitter.feed(decoder.decode());
  splitter.end();
  yield* items.splice(0);
}

/** A whole event-stream text (read before, e.g. off a raw socket) as its items. */
export function parseSseText(text: string): SseItem[] {
  const items: SseItem[] = [];
  const splitter = sseSplitter((item) => items.push(item));
  splitter.feed(text);
  splitter.end();
  return items;
}
