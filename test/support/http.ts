import { expect } from 'vitest';
import { parseSseText, type SseItem } from '../../tools/sseEvents.js';

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

/**
 * One item of our event stream as a client sees it: an event (data JSON-parsed) or a `: ping`; fails on anything
 * our writer never sends: an unnamed event, another comment, data that is not JSON.
 */
export function receivedOf(item: SseItem): ReceivedEvent | 'ping' {
  if (item.type === 'comment' && item.text === 'ping') return 'ping';
  if (item.type === 'event' && item.event) return { event: item.event, data: JSON.parse(item.data) };
  throw new Error(`malformed SSE frame: ${JSON.stringify(item)}`);
}

/** A whole text/event-stream body as its events and a count of `: ping` comments; fails as `receivedOf`, or on a frame cut off. */
export function parseSse(raw: string): { events: ReceivedEvent[]; pings: number } {
  const events: ReceivedEvent[] = [];
  let pings = 0;
  for (const item of parseSseText(raw)) {
    const received = receivedOf(item);
    if (received === 'ping') pings += 1;
    else events.push(received);
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

/**
 * A streamed turn (POST `path` as `user`) read only up to its `message.created` event, so a test can act while the
 * reply is still coming (stop it, cut it); `rest` reads the stream to its end and resolves with the whole of it.
 */
export async function streamUntilCreated(
  api: string, path: string, user: string, body: unknown,
): Promise<{ readonly created: ReceivedEvent['data']; readonly rest: Promise<TurnResponse> }> {
  const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'x-user-id': user, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  while (!raw.includes('event: message.created')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before message.created: ${raw}`);
    raw += decoder.decode(value, { stream: true });
  }
  const created = parseSse(raw.slice(0, raw.indexOf('\n\n', raw.indexOf('event: message.created')) + 2)).events[0]!.data;
  const rest = (async (): Promise<TurnResponse> => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) raw += decoder.decode(r.value, { stream: true });
    return { status: res.status, headers: res.headers, ...parseSse(raw), raw, body: undefined };
  })();
  return { created, rest };
}

/**
 * Every page of a list route as `user`, `limit` at a time, following `nextCursor` to its end; fails on a non-200, a
 * page over `limit`, or more than `maxPages` pages (a cursor that never ends).
 */
export async function allPages<T>(
  api: string, user: string, path: string, limit: number, maxPages: number,
): Promise<{ readonly items: T[]; readonly pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await call(api, 'GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { user });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...(res.body.items as T[]));
    cursor = res.body.nextCursor;
    pages += 1;
    expect(pages).toBeLessThan(maxPages);
  } while (cursor !== null);
  return { items, pages };
}
