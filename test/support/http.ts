/** A parsed server-sent event as a client sees it. */
export interface ReceivedEvent {
  readonly event: string;
  readonly data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface TurnResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly events: readonly ReceivedEvent[];
  readonly pings: number;
  readonly raw: string;
  /** The body as JSON, for non-stream answers. */
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Splits a text/event-stream body into events and counts `: ping` comments; fails on a malformed frame. */
export function parseSse(raw: string): { events: ReceivedEvent[]; pings: number } {
  const events: ReceivedEvent[] = [];
  let pings = 0;
  for (const frame of raw.split('\n\n')) {
    if (!frame.trim()) continue;
    if (frame === ': ping') {
      pings += 1;
      continue;
    }
    const lines = frame.split('\n');
    const name = lines[0]?.startsWith('event: ') ? lines[0].slice(7) : undefined;
    const data = lines.slice(1).filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    if (!name || lines.length < 2) throw new Error(`malformed SSE frame: ${JSON.stringify(frame)}`);
    events.push({ event: name, data: JSON.parse(data) });
  }
  return { events, pings };
}

/** Calls the API as an app would, with `x-user-id` naming the caller (dev mode). */
export async function call(
  api: string, method: string, path: string,
  options: { user?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TurnResponse> {
  const headers: Record<string, string> = { ...(options.user ? { 'x-user-id': options.user } : {}), ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${api}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const raw = await res.text();
  const isSse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
  const parsed = isSse ? parseSse(raw) : { events: [], pings: 0 };
  let json: unknown = undefined;
  if (!isSse && raw) {
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, events: parsed.events, pings: parsed.pings, raw, body: json };
}

/** Creates a conversation for `user` and returns its id. */
export async function newConversation(api: string, user: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await call(api, 'POST', '/conversations', { user, body });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.raw}`);
  return res.body.id as string;
}
