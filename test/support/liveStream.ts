import { sseEvents } from '../../tools/sseEvents.js';

/** An event of one of our streams as a client sees it, with its `id:`. */
export interface StreamEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A stream read as it arrives, so a test can act in the middle of it (stop the reply, drop the connection, resume
 * elsewhere). `ended` settles once the body ends or the connection is dropped.
 */
export class LiveStream {
  readonly events: StreamEvent[] = [];
  pings = 0;
  readonly status: number;
  readonly headers: Headers;
  readonly ended: Promise<void>;
  readonly #abort: AbortController;
  readonly #waiters = new Set<() => void>();

  private constructor(res: Response, abort: AbortController) {
    this.status = res.status;
    this.headers = res.headers;
    this.#abort = abort;
    this.ended = this.#read(res).finally(() => this.#wake());
  }

  /** Opens `url` (a turn's POST, or a resume's GET) with `x-user-id` naming the caller. */
  static async open(url: string, init: { method?: string; user: string; body?: unknown; headers?: Record<string, string> }): Promise<LiveStream> {
    const abort = new AbortController();
    const headers: Record<string, string> = { 'x-user-id': init.user, ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method: init.method ?? 'GET', headers, signal: abort.signal, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return new LiveStream(res, abort);
  }

  async #read(res: Response): Promise<void> {
    if (!res.body) return;
    try {
      for await (const item of sseEvents(res.body)) {
        if (item.type === 'comment') {
          if (item.text !== 'ping') throw new Error(`unexpected comment ${item.text}`);
          this.pings += 1;
        } else {
          this.events.push({ event: item.event ?? '', id: item.id, data: JSON.parse(item.data) });
        }
        this.#wake();
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) throw error;
    }
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Resolves once `check` holds for what arrived (or fails when the stream ends first). */
  async until(check: (events: readonly StreamEvent[]) => boolean, what = 'the awaited events'): Promise<void> {
    let ended = false;
    void this.ended.then(() => (ended = true), () => (ended = true));
    while (!check(this.events)) {
      if (ended) throw new Error(`the stream ended before ${what}: ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
        void this.ended.then(wake, wake);
      });
    }
  }

  /** Drops the connection, as a phone losing its network would. */
  drop(): void {
    this.#abort.abort();
  }

  deltas(): StreamEvent[] {
    return this.events.filter((e) => e.event === 'message.delta');
  }

  /** The reply as this client holds it: its deltas, joined. */
  text(): string {
    return this.deltas().map((e) => e.data.content as string).join('');
  }

  terminals(): StreamEvent[] {
    return this.events.filter((e) => e.event === 'message.completed' || e.event === 'error');
  }
}
