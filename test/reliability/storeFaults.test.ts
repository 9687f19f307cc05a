import type { Container } from '@azure/cosmos';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openChatContainer } from '../../src/store/cosmosContainer.js';
import { snapshot } from '../support/embeddedStore.js';
import { sseEvents } from '../../tools/sseEvents.js';
import { call, newConversation, receivedOf, type ReceivedEvent } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The database goes away (its port closes, open connections are reset) before or during a turn, over real
 * sockets. Each case checks what is stored, read straight from the store, not only what the client was told.
 */
let t: TestApp;
/** The same database without the proxy: readable while the app's store is cut. */
let direct: Container;
const USER = 'store-fault-user';
const LOCK_SECONDS = 30;

beforeAll(async () => {
  t = await startTestApp({
    storeProxy: true,
    // Timeouts short enough for a 30 s lock (config refuses a lock shorter than the waits they allow).
    env: { SSE_PING_INTERVAL_MS: '200', TURN_LOCK_SECONDS: String(LOCK_SECONDS), PHI_FIRST_BYTE_TIMEOUT_MS: '5000', PHI_IDLE_TIMEOUT_MS: '5000' },
    simulator: { replyWords: 30 },
  });
  t.clock.set('2026-06-01T12:00:00Z');
  direct = await openChatContainer({ endpoint: t.cosmos.endpoint, key: t.cosmos.key, database: t.services.config.cosmos.database });
});
afterAll(() => t.close());
beforeEach(async () => {
  t.sim.reset();
  await t.storeProxy!.restore();
});

const proxy = () => t.storeProxy!;

async function storedMessages(conversationId: string): Promise<Record<string, unknown>[]> {
  const { resources } = await direct.items
    .query({ query: 'SELECT * FROM c WHERE c.type = "message" AND c.conversationId = @id ORDER BY c.seq ASC', parameters: [{ name: '@id', value: conversationId }] })
    .fetchAll();
  return resources as Record<string, unknown>[];
}

async function storedConversation(conversationId: string): Promise<Record<string, unknown>> {
  const { resource } = await direct.item(conversationId, USER).read<Record<string, unknown>>();
  return resource!;
}

/** The caller's ledger for the day, summed from its turn documents straight from the store. */
async function ledgerDay(): Promise<{ totalTokens: number } | undefined> {
  const { resources } = await direct.items
    .query<number>({ query: 'SELECT VALUE SUM(c.totalTokens) FROM c WHERE c.userId = @u AND c.type = "usageTurn" AND c.day = "2026-06-01"', parameters: [{ name: '@u', value: USER }] })
    .fetchAll();
  return typeof resources[0] === 'number' ? { totalTokens: resources[0] } : undefined;
}

/**
 * Posts a streaming turn and calls `afterCreated` once `message.created` has arrived, while the reply still
 * streams; resolves with every event once the stream ends.
 */
async function streamTurn(conversationId: string, content: string, afterCreated: () => Promise<void>): Promise<ReceivedEvent[]> {
  const res = await fetch(`${t.api}/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { 'x-user-id': USER, 'content-type': 'application/json' },
    body: JSON.stringify({ content }),
  });
  expect(res.status).toBe(200);
  const events: ReceivedEvent[] = [];
  let fired = false;
  for await (const item of sseEvents(res.body!)) {
    const received = receivedOf(item);
    if (received === 'ping') continue;
    events.push(received);
    if (!fired && received.event === 'message.created') {
      fired = true;
      await afterCreated();
    }
  }
  return events;
}

/** Resolves once the simulator has finished sending every completion it started. */
async function upstreamDone(): Promise<void> {
  while (t.sim.completionRequests.length === 0 || t.sim.openCompletions > 0) await new Promise((r) => setTimeout(r, 10));
}

describe('the store stopped before a turn', () => {
  it('answers 503 store_unavailable (stream and JSON), calls no model, and writes nothing', async () => {
    const id = await newConversation(t.api, USER);
    const before = await snapshot(direct);
    await proxy().cut();
    const streamed = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Are you there?' } });
    const json = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Are you there?' }, headers: { accept: 'application/json' } });
    for (const res of [streamed, json]) {
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, code: 'store_unavailable' });
    }
    expect(t.sim.completionRequests).toHaveLength(0);
    expect(await snapshot(direct)).toBe(before);

    await proxy().restore();
    const after = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Back again?' }, headers: { accept: 'application/json' } });
    expect(after.status).toBe(201);
    expect((await storedMessages(id)).map((m) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete']);
  });

  it('answers 503 on every other route too, and the data is all there once the store is back', async () => {
    const id = await newConversation(t.api, USER, { title: 'kept' });
    await proxy().cut();
    for (const [method, path, body] of [
      ['GET', '/conversations', undefined], ['GET', `/conversations/${id}`, undefined], ['GET', `/conversations/${id}/messages`, undefined],
      ['PATCH', `/conversations/${id}`, { title: 'changed' }], ['DELETE', `/conversations/${id}`, undefined],
      ['POST', '/conversations', {}], ['GET', '/usage', undefined],
    ] as const) {
      const res = await call(t.api, method, path, { user: USER, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.body.code).toBe('store_unavailable');
    }
    await proxy().restore();
    expect((await call(t.api, 'GET', `/conversations/${id}`, { user: USER })).body).toMatchObject({ id, title: 'kept' });
  });
});

describe('the store stopped mid-stream', () => {
  it('back within the retries: the reply reaches the client and everything is stored once, complete', async () => {
    const id = await newConversation(t.api, USER);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 15 });
    const usageBefore = (await ledgerDay())?.totalTokens ?? 0;
    const events = await streamTurn(id, 'Tell me a story', async () => {
      await proxy().cut();
      // Bring the store back while the turn retries its final writes (200, 400, 800 ms apart).
      void upstreamDone().then(() => new Promise((r) => setTimeout(r, 350))).then(() => proxy().restore());
    });
    expect(events[0]!.event).toBe('message.created');
    expect(events.at(-1)!.event).toBe('message.completed');
    const text = events.filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');
    expect(text.length).toBeGreaterThan(0);

    const [user, assistant] = await storedMessages(id);
    expect(user).toMatchObject({ role: 'user', status: 'complete', content: 'Tell me a story' });
    expect(assistant).toMatchObject({ role: 'assistant', status: 'complete', content: text });
    expect(assistant!.leaseUntil).toBeUndefined();
    const reported = t.sim.usageTotals.totalTokens;
    expect((assistant!.usage as { totalTokens: number }).totalTokens).toBe(reported);
    const conversation = await storedConversation(id);
    expect(conversation.activeTurn).toBeNull();
    expect(conversation.messageCount).toBe(2);
    expect((conversation.usage as { totalTokens: number }).totalTokens).toBe(reported);
    expect((await ledgerDay())!.totalTokens).toBe(usageBefore + reported);
  });

  it('gone past the retries: the client still gets the reply, then store_unavailable; the turn reads as streaming, then incomplete once its lease passes, and the next turn can run', async () => {
    const id = await newConversation(t.api, USER);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 5 });
    const usageBefore = (await ledgerDay())?.totalTokens ?? 0;
    const events = await streamTurn(id, 'Tell me another story', () => proxy().cut());
    // The stream ends only after the final writes gave up: the store was down for all of them, and the client is
    // told the reply it has was not stored (message.completed would promise that it was).
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'store_unavailable', status: 503 } });
    expect(events.some((e) => e.event === 'message.completed')).toBe(false);
    expect(events.filter((e) => e.event === 'message.delta').length).toBeGreaterThan(5);
    await proxy().restore();

    const [user, assistant] = await storedMessages(id);
    expect(user).toMatchObject({ status: 'complete', content: 'Tell me another story' });
    // Only the placeholder written before the model was called: streaming, empty, with its lease.
    expect(assistant).toMatchObject({ status: 'streaming', content: '' });
    expect(typeof assistant!.leaseUntil).toBe('string');
    expect((await storedConversation(id)).activeTurn).not.toBeNull();
    // The reply and its usage are one write: neither landed, so the ledger has nothing of this turn yet (and the
    // message no usage); its reservation counts it until the next turn settles it.
    expect(assistant!.usage).toBeUndefined();
    expect((await ledgerDay())?.totalTokens ?? 0).toBe(usageBefore);

    const list = async () => (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;
    expect((await list())[1]).toMatchObject({ status: 'streaming' });
    const busy = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Next?' }, headers: { accept: 'application/json' } });
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('conversation_busy');

    t.clock.advance((LOCK_SECONDS + 1) * 1000);
    const stale = (await list())[1];
    expect(stale).toMatchObject({ status: 'incomplete', content: '', error: { code: 'instance_lost' } });
    const next = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Next?' }, headers: { accept: 'application/json' } });
    expect(next.status).toBe(201);
    expect((await list()).map((m: { role: string; status: string }) => `${m.role}:${m.status}`)).toEqual([
      'user:complete', 'assistant:incomplete', 'user:complete', 'assistant:complete',
    ]);
    // The next turn settled the lost one from what was saved: its prompt was sent, so its tokens are counted,
    // estimated, once; the ledger equals the messages' usage and the conversation's totals (it used to keep none).
    const stored = await storedMessages(id);
    const lost = stored[1]!;
    expect(lost).toMatchObject({ status: 'incomplete', error: { code: 'instance_lost' }, usage: { estimated: true, completionTokens: 0 } });
    expect((lost.usage as { promptTokens: number }).promptTokens).toBe((lost.context as { promptTokens: number }).promptTokens);
    expect(lost.leaseUntil).toBeUndefined();
    const messageUsage = stored.reduce((sum, m) => sum + ((m.usage as { totalTokens?: number } | undefined)?.totalTokens ?? 0), 0);
    expect(messageUsage).toBeGreaterThan(0);
    expect((await ledgerDay())!.totalTokens - usageBefore).toBe(messageUsage);
    const conversation = await storedConversation(id);
    expect((conversation.usage as { totalTokens: number }).totalTokens).toBe(messageUsage);
    expect(conversation.messageCount).toBe(4);
    expect(conversation.activeTurn).toBeNull();
  }, 30_000);

  it('back after ~2 s, in the middle of the final write\'s retries: the ledger always equals the message\'s usage and the conversation\'s totals', async () => {
    const id = await newConversation(t.api, USER);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 5 });
    const usageBefore = (await ledgerDay())?.totalTokens ?? 0;
    await streamTurn(id, 'One more story', async () => {
      await proxy().cut();
      // Past the first ~1.4 s of retries (the ledger's alone, in the version that wrote it apart from the message).
      void upstreamDone().then(() => new Promise((r) => setTimeout(r, 1_800))).then(() => proxy().restore());
    });
    await proxy().restore();
    t.clock.advance((LOCK_SECONDS + 1) * 1000);
    // Whatever landed, the next turn settles what did not.
    expect((await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'And?' }, headers: { accept: 'application/json' } })).status).toBe(201);
    const stored = await storedMessages(id);
    const messageUsage = stored.reduce((sum, m) => sum + ((m.usage as { totalTokens?: number } | undefined)?.totalTokens ?? 0), 0);
    expect(stored[1]!.usage).toBeDefined();
    expect((await ledgerDay())!.totalTokens - usageBefore).toBe(messageUsage);
    expect(((await storedConversation(id)).usage as { totalTokens: number }).totalTokens).toBe(messageUsage);
  }, 30_000);

  it('a lost turn that had saved part of its reply is counted once from it, however many turns find it', async () => {
    const id = await newConversation(t.api, USER);
    const usageBefore = (await ledgerDay())?.totalTokens ?? 0;
    // As an instance lost mid-stream leaves it: the lock, the user message and a checkpointed placeholder.
    const turnId = 't_lostlostlostlostlostlo';
    const leaseUntil = new Date(t.clock.now().getTime() + 1_000).toISOString();
    const { resource: doc } = await direct.item(id, USER).read<Record<string, unknown>>();
    await direct.item(id, USER).replace({ ...doc, activeTurn: { turnId, expiresAt: leaseUntil }, lastSeq: 2 });
    const base = { conversationId: id, userId: USER, type: 'message', turnId, createdAt: t.clock.now().toISOString() };
    const context = { window: 4096, promptTokens: 42, maxTokens: 100, messagesIncluded: 1, messagesDropped: 0 };
    await direct.items.create({ ...base, id: 'm_lostlostlostlostlostlu', role: 'user', content: 'Hi', status: 'complete', tokenCount: 1, seq: 1 });
    await direct.items.create({
      ...base, id: 'm_lostlostlostlostlostla', role: 'assistant', content: 'Once upon a time', status: 'streaming', tokenCount: 4, seq: 2,
      finishReason: null, leaseUntil, context,
    });
    t.clock.advance(2_000);
    // Two turns find it at once (two instances would): create-once keeps it counted once.
    const results = await Promise.all([1, 2].map(() => call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Next?' }, headers: { accept: 'application/json' } })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const stored = await storedMessages(id);
    expect(stored[1]).toMatchObject({ status: 'incomplete', content: 'Once upon a time', usage: { promptTokens: 42, estimated: true } });
    expect((stored[1]!.usage as { completionTokens: number }).completionTokens).toBeGreaterThan(0);
    const messageUsage = stored.reduce((sum, m) => sum + ((m.usage as { totalTokens?: number } | undefined)?.totalTokens ?? 0), 0);
    expect((await ledgerDay())!.totalTokens - usageBefore).toBe(messageUsage);
    expect(((await storedConversation(id)).usage as { totalTokens: number }).totalTokens).toBe(messageUsage);
  });
});
