import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LiveTurns } from '../../src/chat/LiveTurns.js';
import { ReplyStreams } from '../../src/chat/ReplyStreams.js';
import type { TurnEvent } from '../../src/chat/turnTypes.js';
import { call, newConversation } from '../support/http.js';
import { LiveStream, type StreamEvent } from '../support/liveStream.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * GET …/messages/{messageId}/stream over real sockets (contract: api.md v2 "Resume a stream"): from any event id,
 * nothing repeated or skipped, live on the running instance and followed from the store, finished replies replayed.
 */

let users = 0;
const newUser = () => `resume-user-${(users += 1)}`;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ simulator: { replyWords: 30 }, env: { SSE_PING_INTERVAL_MS: '100', STREAM_CHECKPOINT_MS: '100', PHI_FIRST_BYTE_TIMEOUT_MS: '10000' } });
});
afterAll(() => t.close());
beforeEach(() => t.sim.reset());

const post = (user: string, id: string) => LiveStream.open(`${t.api}/conversations/${id}/messages`, { method: 'POST', user, body: { content: 'Tell me a story.' } });
const resume = (user: string, id: string, messageId: string, lastEventId?: string, how: 'header' | 'query' = 'header') =>
  LiveStream.open(`${t.api}/conversations/${id}/messages/${messageId}/stream${lastEventId !== undefined && how === 'query' ? `?lastEventId=${encodeURIComponent(lastEventId)}` : ''}`, {
    user, headers: lastEventId !== undefined && how === 'header' ? { 'last-event-id': lastEventId } : {},
  });
const stored = async (user: string, id: string) => (await call(t.api, 'GET', `/conversations/${id}/messages`, { user })).body.items[1];

/** The reply a client holds once it has the events up to and including `index`. */
function heldAfter(events: readonly StreamEvent[], index: number): string {
  return events.slice(0, index + 1).filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');
}

describe('resuming a stream', () => {
  it('puts an id on every event, increasing in the order sent', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    const s = await post(user, id);
    await s.ended;
    expect(s.events.every((e) => typeof e.id === 'string')).toBe(true);
    const positions = s.events.map((e, i) => ({ length: Number.parseInt(e.id!, 10), terminal: i === s.events.length - 1 }));
    for (let i = 1; i < positions.length; i += 1) {
      const [before, after] = [positions[i - 1]!, positions[i]!];
      expect(after.length > before.length || (after.terminal && after.length === before.length)).toBe(true);
    }
    expect(new Set(s.events.map((e) => e.id)).size).toBe(s.events.length);
  });

  it('from every event id of a finished stream: exactly the rest of the stored reply, then the same terminal event', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    const s = await post(user, id);
    await s.ended;
    const messageId = s.events[0]!.data.assistantMessageId as string;
    const reply = await stored(user, id);
    expect(s.text()).toBe(reply.content);
    const original = s.events.at(-1)!;
    for (const [index, event] of s.events.entries()) {
      const r = await resume(user, id, messageId, event.id, index % 2 === 0 ? 'header' : 'query');
      await r.ended;
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // Nothing repeated, nothing skipped: what the client held plus what it got is the stored reply.
      expect(heldAfter(s.events, index) + r.text()).toBe(reply.content);
      expect(r.deltas().length).toBeLessThanOrEqual(1);
      expect(r.terminals()).toEqual([original]);
      expect(r.events.at(-1)).toEqual(original);
    }
    // Without an id: the whole reply.
    const whole = await resume(user, id, messageId);
    await whole.ended;
    expect(whole.text()).toBe(reply.content);
    expect(whole.events.at(-1)).toEqual(original);
  });

  it('live on the running instance, from every id a dropped client could hold: the rest as produced, one terminal event', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 30 });
    const s = await post(user, id);
    const messageId = (await s.until((events) => events.length >= 1, 'created'), s.events[0]!.data.assistantMessageId as string);
    const resumed: { index: number; stream: LiveStream }[] = [];
    // A client dropped after each of the first events reconnects at once, while the reply is still being produced.
    for (let index = 0; index < 6; index += 1) {
      await s.until((events) => events.length > index, `event ${index}`);
      resumed.push({ index, stream: await resume(user, id, messageId, s.events[index]!.id) });
    }
    await s.ended;
    const reply = await stored(user, id);
    for (const { index, stream } of resumed) {
      await stream.ended;
      expect(heldAfter(s.events, index) + stream.text()).toBe(reply.content);
      expect(stream.terminals()).toEqual([s.events.at(-1)]);
    }
    // Live, the rest arrived in pieces as produced (the first resume joined with almost all of it still to come).
    expect(resumed[0]!.stream.deltas().length).toBeGreaterThan(3);
  });

  it('keeps a resumed stream alive with pings while the model is silent', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 800 });
    const s = await post(user, id);
    await s.until((events) => events.length >= 1, 'created');
    const r = await resume(user, id, s.events[0]!.data.assistantMessageId as string, s.events[0]!.id);
    await r.ended;
    expect(r.pings).toBeGreaterThan(0);
    expect(r.text()).toBe((await stored(user, id)).content);
  });

  it('replays a failed reply with what it kept and the stored problem, and a stopped one with message.completed', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'dropAfterChunks', chunks: 5 });
    const failed = await post(user, id);
    await failed.ended;
    expect(failed.events.at(-1)!.event).toBe('error');
    const r = await resume(user, id, failed.events[0]!.data.assistantMessageId as string, failed.events[1]!.id);
    await r.ended;
    expect(heldAfter(failed.events, 1) + r.text()).toBe(failed.text());
    expect(r.terminals()).toHaveLength(1);
    expect(r.events.at(-1)!.event).toBe('error');
    expect(r.events.at(-1)!.data.code).toBe(failed.events.at(-1)!.data.code);

    const id2 = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 30 });
    const s = await post(user, id2);
    await s.until((events) => events.length >= 4, 'three deltas');
    const messageId = s.events[0]!.data.assistantMessageId as string;
    expect((await call(t.api, 'POST', `/conversations/${id2}/messages/${messageId}/stop`, { user })).status).toBe(202);
    await s.ended;
    const after = await resume(user, id2, messageId, s.events[1]!.id);
    await after.ended;
    expect(heldAfter(s.events, 1) + after.text()).toBe(s.text());
    expect(after.events.at(-1)).toEqual(s.events.at(-1));
    expect(after.events.at(-1)!.data.message.finishReason).toBe('cancelled');
  });

  it('refuses an id this stream never sent, one past a finished reply, and a user message, with 400', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    const done = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hi' }, headers: { accept: 'application/json' } });
    const messageId = done.body.assistantMessage.id as string;
    const path = `/conversations/${id}/messages/${messageId}/stream`;
    for (const [headers, query] of [[{ 'last-event-id': 'abc' }, ''], [{}, '?lastEventId=-3'], [{ 'last-event-id': '999999' }, ''], [{}, '?other=1']] as const) {
      const res = await call(t.api, 'GET', `${path}${query}`, { user, headers });
      expect(res.status, res.raw).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const onUser = await call(t.api, 'GET', `/conversations/${id}/messages/${done.body.userMessage.id}/stream`, { user });
    expect(onUser.status).toBe(400);
    const missing = await call(t.api, 'GET', `/conversations/${id}/messages/m_nosuchmessagenosuchmesa/stream`, { user });
    expect(missing.status).toBe(404);
  });
});

describe('following a reply from the store, as an instance that does not run it', () => {
  it('from any id, including one ahead of what was saved: exactly the stored reply, the same terminal event', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    // Another instance: the same store, none of this instance's running turns.
    const elsewhere = new ReplyStreams({ store: t.services.store, liveTurns: new LiveTurns(), clock: t.clock, followIntervalMs: 100 });
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 30 });
    const s = await post(user, id);
    await s.until((events) => events.length >= 1, 'created');
    const messageId = s.events[0]!.data.assistantMessageId as string;
    const followers: { index: number; events: Promise<TurnEvent[]> }[] = [];
    for (let index = 0; index < 8; index += 2) {
      await s.until((events) => events.length > index, `event ${index}`);
      const { events } = await elsewhere.follow(user, id, messageId, { value: s.events[index]!.id!, field: 'Last-Event-ID' });
      followers.push({ index, events: collect(events) });
    }
    await s.ended;
    const reply = await stored(user, id);
    for (const { index, events } of followers) {
      const got = await events;
      const text = got.flatMap((e) => (e.type === 'delta' ? [e.content] : [])).join('');
      expect(heldAfter(s.events, index) + text).toBe(reply.content);
      expect(got.filter((e) => e.type !== 'delta')).toHaveLength(1);
      expect(got.at(-1)).toMatchObject({ type: 'completed', message: { id: messageId, content: reply.content, status: 'complete' } });
    }
  });
});

async function collect<T>(events: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const event of events) out.push(event);
  return out;
}
