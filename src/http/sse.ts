/** One server-sent event: a name and a JSON-serialisable payload. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
  /** The `id:` line, which a client sends back as `Last-Event-ID` to resume after this event. */
  readonly id?: string;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

const encoder = new TextEncoder();
const PING = ': ping\n\n';

/**
 * An `id:` line where the event has one, an `event:` line and one `data:` line (JSON.stringify escapes CR and LF,
 * so the JSON is always one line).
 */
export function formatEvent({ event, data, id }: SseEvent): string {
  if (/[\r\n]/.test(event)) throw new Error('An SSE event name cannot contain CR or LF.');
  // A NUL makes a client ignore the id; CR or LF would end the line.
  if (id !== undefined && /[\r\n\0]/.test(id)) throw new Error('An SSE event id cannot contain CR, LF or NUL.');
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export interface SseOptions {
  /** Longest silence before a `: ping` comment is sent. */
  readonly pingIntervalMs: number;
  /** The events that end a stream: nothing is sent after the first of them. */
  readonly terminal: ReadonlySet<string>;
  /** The terminal event to send when the source throws or ends without one. */
  readonly onBroken: (error: unknown) => SseEvent;
}

/**
 * The response body of an event stream. The source is read on its own, whatever the client does, and framed into
 * a buffer; each read of the body takes everything buffered so far as one chunk, so a fast source and a slower
 * socket cost one write per read instead of one per event, and a single event is written at once. While the
 * source is silent, `: ping` goes out at least every `pingIntervalMs`. The stream ends with exactly one terminal
 * event.
 */
export function sseFrames(source: AsyncIterable<SseEvent>, options: SseOptions): AsyncIterable<Uint8Array>;
/** The same, over items turned into events as they are read (no generator in between: a hop per event saved). */
export function sseFrames<T>(source: AsyncIterable<T>, options: SseOptions, toEvent: (item: T) => SseEvent): AsyncIterable<Uint8Array>;
export function sseFrames<T>(
  source: AsyncIterable<T>, options: SseOptions, toEvent: (item: T) => SseEvent = (item) => item as SseEvent,
): AsyncIterable<Uint8Array> {
  let buffered = '';
  let finished = false;
  let detached = false;
  let lastWrite = Date.now();
  let wake: (() => void) | undefined;

  // The first event of a burst wakes the reader at once, so it leaves without waiting for the rest; the events
  // that follow within the same tick (parsed from the same upstream read) are handed over together once the tick's
  // queued jobs have run: one socket write for them instead of one each, and no timer anywhere.
  let burst = false;
  let wakeQueued = false;
  const endBurst = (): void => {
    burst = false;
  };
  const wakeReader = (): void => {
    wakeQueued = false;
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  const write = (text: string) => {
    if (detached) return;
    buffered += text;
    lastWrite = Date.now();
    if (!burst) {
      burst = true;
      process.nextTick(endBurst);
      wakeReader();
    } else if (wake && !wakeQueued) {
      wakeQueued = true;
      process.nextTick(wakeReader);
    }
  };

  // Checking twice per interval bounds every silence by the interval itself.
  const pinger = setInterval(() => {
    if (!finished && Date.now() - lastWrite >= options.pingIntervalMs / 2) write(PING);
  }, Math.max(1, Math.floor(options.pingIntervalMs / 2)));

  void (async () => {
    let ended = false;
    try {
      for await (const item of source) {
        const event = toEvent(item);
        write(formatEvent(event));
        if (options.terminal.has(event.event)) {
          ended = true;
          break;
        }
      }
    } catch (error) {
      if (!ended) {
        ended = true;
        write(formatEvent(options.onBroken(error)));
      }
    }
    if (!ended) write(formatEvent(options.onBroken(new Error('The stream ended without a terminal event.'))));
    finished = true;
    clearInterval(pinger);
    wake?.();
  })();

  return {
    [Symbol.asyncIterator]: (): AsyncIterator<Uint8Array> => ({
      next: async () => {
        while (buffered === '' && !finished) await new Promise<void>((resolve) => (wake = resolve));
        if (buffered === '') return { value: undefined, done: true };
        const chunk = encoder.encode(buffered);
        buffered = '';
        return { value: chunk, done: false };
      },
      return: async () => {
        // The client went away: keep reading the source (the turn goes on), keep nothing for the socket.
        detached = true;
        buffered = '';
        return { value: undefined, done: true };
      },
    }),
  };
}
