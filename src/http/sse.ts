/** One server-sent event: a name and a JSON-serialisable payload. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

const encoder = new TextEncoder();
const PING = encoder.encode(': ping\n\n');

/** `event:` line plus one `data:` line per line of the JSON (JSON.stringify never emits raw newlines, but be sure). */
export function formatEvent({ event, data }: SseEvent): Uint8Array {
  if (/[\r\n]/.test(event)) throw new Error('An SSE event name cannot contain CR or LF.');
  const lines = JSON.stringify(data).split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return encoder.encode(`event: ${event}\n${lines}\n`);
}

/**
 * Frames events for the wire, sending `: ping` whenever the source is silent for `pingIntervalMs`.
 * `terminal` names the events that end a stream; if the source ends without one, or throws, `onBroken`
 * supplies the one terminal event the contract promises.
 */
export async function* sseFrames(
  source: AsyncIterable<SseEvent>,
  options: { readonly pingIntervalMs: number; readonly terminal: ReadonlySet<string>; readonly onBroken: (error: unknown) => SseEvent },
): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let ended = false;
  try {
    let pending = iterator.next();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'ping'>((resolve) => {
        timer = setTimeout(() => resolve('ping'), options.pingIntervalMs);
      });
      const winner = await Promise.race([pending, tick]).finally(() => clearTimeout(timer));
      if (winner === 'ping') {
        yield PING;
        continue;
      }
      if (winner.done) break;
      yield formatEvent(winner.value);
      if (options.terminal.has(winner.value.event)) {
        ended = true;
        break;
      }
      pending = iterator.next();
    }
  } catch (error) {
    if (!ended) {
      ended = true;
      yield formatEvent(options.onBroken(error));
    }
  }
  if (!ended) yield formatEvent(options.onBroken(new Error('The turn ended without a terminal event.')));
}
