import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CosmosStopRequests } from '../../src/store/CosmosStopRequests.js';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation } from '../support/http.js';
import { LiveStream } from '../support/liveStream.js';
import { startTestApp, WIRES, type TestApp } from '../support/testApp.js';

/**
 * POST …/messages/{messageId}/stop over real sockets (contract: api.md v2 "Stop"), and its races: before the first
 * delta, during a 429 retry wait, at the natural end, twice, and for a reply whose instance was lost.
 */

let users = 0;
const newUser = () => `stop-user-${(users += 1)}`;

describe.each(WIRES)('stop over the %s wire', (wire) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      wire, simulator: { replyWords: 60 },
      env: { SSE_PING_INTERVAL_MS: '200', PHI_RETRY_BUDGET_MS: '5000', PHI_FIRST_BYTE_TIMEOUT_MS: '10000', STREAM_CHECKPOINT_MS: '100' },
    });
  });
  afterAll(() => t.close());
  beforeEach(() => t.sim.reset());

  const post = (user: string, id: string) => LiveStream.open(`${t.api}/conversations/${id}/messages`, { method: 'POST', user, body: { content: 'Tell me a long story.' } });
  const stop = (user: string, id: string, messageId: string) => call(t.api, 'POST', `/conversations/${id}/messages/${messageId}/stop`, { user });
  /** The stored messages as a stream's events show them: listings add `siblingIds`, events do not. */
  const messages = async (user: string, id: string) => ((await call(t.api, 'GET', `/conversations/${id}/messages`, { user })).body.items as Record<string, any>[]) // eslint-disable-line @typescript-eslint/no-explicit-any
    .map(({ siblingIds: _siblings, ...m }) => m);
  const usage = async (user: string) => (await call(t.api, 'GET', '/usage', { user })).body.totals as { totalTokens: number; requests: number };
  const assistantIdOf = (s: LiveStream) => s.events[0]!.data.assistantMessageId as string;

  /** What every stopped turn promises: one terminal `message.completed`, the stored message equal to it, usage once, the lock free. */
  async function expectStopped(user: string, id: string, s: LiveStream): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    await s.ended;
    expect(s.terminals().map((e) => e.event)).toEqual(['message.completed']);
    expect(s.events.at(-1)!.event).toBe('message.completed');
    const final = s.events.at(-1)!.data.message;
    expect(final).toMatchObject({ status: 'incomplete', finishReason: 'cancelled', content: s.text() });
    expect(final.error).toBeUndefined();
    const stored = (await messages(user, id))[1]!;
    expect(stored).toEqual(final);
    expect((await usage(user)).totalTokens).toBe(stored.usage?.totalTokens ?? 0);
    // The lock is free: the next turn starts.
    const next = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Next.' }, headers: { accept: 'application/json' } });
    expect(next.status, next.raw).toBe(201);
    return stored;
  }

  it('stops a reply mid-stream at once: nothing relayed after it, the partial reply stored, the model connection closed', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 40 });
    const s = await post(user, id);
    await s.until((events) => events.filter((e) => e.event === 'message.delta').length >= 3, 'three deltas');
    const res = await stop(user, id, assistantIdOf(s));
    expect(res.status, res.raw).toBe(202);
    const stored = await expectStopped(user, id, s);
    expect(res.body).toEqual(stored);
    expect(stored.content.length).toBeGreaterThan(0);
    // The simulator had more to send: the reply was cut, and it saw its connection closed.
    const [request] = t.sim.completionRequests;
    expect(request!.closedEarly).toBe(true);
    // No usage came (the stream was cut before its last chunk): the service's own count, marked estimated.
    expect(stored.usage).toMatchObject({ estimated: true, promptTokens: request!.promptTokens });
    expect(stored.usage.completionTokens).toBeGreaterThan(0);
    expect((await usage(user)).requests).toBe(2);
  });

  it('stops before the first delta while the model has not answered: nothing produced, nothing billed', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 4_000 });
    const s = await post(user, id);
    await s.until((events) => events.length >= 1, 'message.created');
    const res = await stop(user, id, assistantIdOf(s));
    expect(res.status).toBe(202);
    const stored = await expectStopped(user, id, s);
    expect(stored.content).toBe('');
    expect(s.deltas()).toHaveLength(0);
    expect(stored.usage).toBeUndefined();
    expect(t.sim.completionRequests[0]!.closedEarly).toBe(true);
  });

  it('stops after the model accepted the call but before its first delta: the prompt is counted, estimated', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 4_000 });
    const s = await post(user, id);
    await s.until((events) => events.length >= 1, 'message.created');
    // The simulator sends the answer's head at once; it has to reach the service first, or this is the case above.
    await waitFor(() => t.sim.completionRequests.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const res = await stop(user, id, assistantIdOf(s));
    expect(res.status).toBe(202);
    const stored = await expectStopped(user, id, s);
    expect(stored.content).toBe('');
    expect(stored.usage).toEqual({ promptTokens: t.sim.completionRequests[0]!.promptTokens, completionTokens: 0, totalTokens: t.sim.completionRequests[0]!.promptTokens, estimated: true });
  });

  it.each(['on this instance', 'recorded in the store by another instance'])('stops during a 429 retry wait (%s): no retry is sent', async (where) => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 2_500 });
    const s = await post(user, id);
    await s.until((events) => events.length >= 1, 'message.created');
    await waitFor(() => t.sim.completionRequests[0]?.status === 429);
    const messageId = assistantIdOf(s);
    if (where === 'on this instance') {
      expect((await stop(user, id, messageId)).status).toBe(202);
    } else {
      const stored = (await messages(user, id))[1]!;
      expect(stored.status).toBe('streaming');
      await new CosmosStopRequests(t.container).request(user, await turnIdOf(user, messageId), t.clock.now());
    }
    const stored = await expectStopped(user, id, s);
    expect(stored.content).toBe('');
    expect(stored.usage).toBeUndefined();
    // Past the Retry-After: the retry the stop cancelled never came (the next turn's request is the only other one).
    await new Promise((resolve) => setTimeout(resolve, 2_700));
    expect(t.sim.completionRequests.map((r) => r.status)).toEqual([429, 200]);
  });

  async function turnIdOf(user: string, messageId: string): Promise<string> {
    const { resource } = await t.container.item(messageId, user).read<{ turnId: string }>();
    return resource!.turnId;
  }

  it('stopped twice at once, and again after: the same message each time, usage once', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 40 });
    const s = await post(user, id);
    await s.until((events) => events.some((e) => e.event === 'message.delta'), 'a delta');
    const messageId = assistantIdOf(s);
    const [first, second] = await Promise.all([stop(user, id, messageId), stop(user, id, messageId)]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.body).toEqual(first.body);
    const before = await snapshot(t.container);
    const third = await stop(user, id, messageId);
    expect(third.status).toBe(200);
    expect(third.body).toEqual(first.body);
    expect(await snapshot(t.container)).toBe(before);
    const stored = await expectStopped(user, id, s);
    expect(stored).toEqual(first.body);
    expect((await usage(user)).requests).toBe(2);
  });

  it('a stop racing the natural end: whichever settles first wins, and the stream, the store and the stop agree', async () => {
    const user = newUser();
    // The same prompt gets the same reply: n events (created, the deltas, completed) for each of these turns. The stop is
    // sent once event `at` arrived, so across the turns it lands mid-stream, on the last deltas, and after the end.
    const reference = await post(user, await newConversation(t.api, user));
    await reference.ended;
    const n = reference.events.length;
    for (const at of [1, 2, Math.floor(n / 2), n - 4, n - 3, n - 2, n - 1, n]) {
      const id = await newConversation(t.api, user);
      // Up to the middle the reply streams slowly, so those stops land mid-stream however busy the machine is (both
      // outcomes then occur every run); near the end it streams at full speed and either may win.
      if (at <= Math.floor(n / 2)) t.sim.faults.next({ kind: 'chunkDelayMs', ms: 40 });
      const s = await post(user, id);
      await s.until((events) => events.length >= Math.min(at, 2), 'the first events');
      await s.until((events) => events.length >= at || events.some((e) => e.event === 'message.completed'), `event ${at}`);
      const res = await stop(user, id, assistantIdOf(s));
      await s.ended;
      expect(s.terminals()).toHaveLength(1);
      const final = s.events.at(-1)!.data.message;
      const stored = (await messages(user, id))[1]!;
      expect(stored).toEqual(final);
      expect(res.body).toEqual(stored);
      expect(stored.content).toBe(s.text());
      if (stored.status === 'complete') expect(stored.finishReason).toBe('stop');
      else expect(stored).toMatchObject({ status: 'incomplete', finishReason: 'cancelled' });
      // A stop that found the reply finished answers 200; one that met it streaming, 202 (and may still lose the race).
      if (res.status === 200) expect(stored.status).toBe('complete');
      else expect(res.status).toBe(202);
      if (stored.finishReason === 'cancelled') expect(res.status).toBe(202);
    }
    // Every turn's tokens counted once: the ledger is the sum of the stored replies' usage.
    const all = (await call(t.api, 'GET', '/conversations?limit=100', { user })).body.items as { id: string; usage: { totalTokens: number } }[];
    expect((await usage(user)).totalTokens).toBe(all.reduce((sum, c) => sum + c.usage.totalTokens, 0));
    const replies = await Promise.all(all.map(async (c) => (await messages(user, c.id))[1]!));
    expect((await usage(user)).requests).toBe(replies.filter((m) => m.usage).length);
    expect(new Set(replies.map((m) => m.status))).toEqual(new Set(['complete', 'incomplete']));
  }, 60_000);

  it('stop of a finished reply answers 200 and changes nothing; a user message is 400; an unknown one 404', async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    const done = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hi' }, headers: { accept: 'application/json' } });
    const before = await snapshot(t.container);
    const res = await stop(user, id, done.body.assistantMessage.id);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(done.body.assistantMessage);
    const onUser = await stop(user, id, done.body.userMessage.id);
    expect(onUser.status).toBe(400);
    expect(onUser.body.code).toBe('validation_failed');
    for (const unknown of ['m_nosuchmessagenosuchmesa', 'not-an-id']) {
      const missing = await stop(user, id, unknown);
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('not_found');
    }
    expect(await snapshot(t.container)).toBe(before);
  });

  it("stop of a reply whose instance was lost (lease passed): settled as lost, 200, usage once, the lock freed", async () => {
    const user = newUser();
    const id = await newConversation(t.api, user);
    // As an instance lost mid-stream leaves it: the lock, the user message and a checkpointed placeholder.
    const turnId = `t_lost${String(users).padStart(18, 'x')}`;
    const body = turnId.slice(2, 23);
    const leaseUntil = new Date(t.clock.now().getTime() + 1_000).toISOString();
    const { resource: doc } = await t.container.item(id, user).read<Record<string, unknown>>();
    await t.container.item(id, user).replace({ ...doc, activeTurn: { turnId, expiresAt: leaseUntil }, lastSeq: 2 });
    const base = { conversationId: id, userId: user, type: 'message', turnId, createdAt: t.clock.now().toISOString() };
    const context = { window: 4096, promptTokens: 42, maxTokens: 100, messagesIncluded: 1, messagesDropped: 0 };
    await t.container.items.create({ ...base, id: `m_${body}u`, role: 'user', content: 'Hi', status: 'complete', tokenCount: 1, seq: 1 });
    await t.container.items.create({
      ...base, id: `m_${body}a`, role: 'assistant', content: 'Once upon a time', status: 'streaming', tokenCount: 4, seq: 2,
      finishReason: null, leaseUntil, context,
    });
    t.clock.advance(2_000);
    const [first, second] = [await stop(user, id, `m_${body}a`), await stop(user, id, `m_${body}a`)];
    expect(first.status, first.raw).toBe(200);
    expect(first.body).toMatchObject({
      status: 'incomplete', content: 'Once upon a time', error: { code: 'instance_lost' }, usage: { promptTokens: 42, estimated: true },
    });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await usage(user)).toMatchObject({ totalTokens: first.body.usage.totalTokens, requests: 1 });
    const conversation = (await call(t.api, 'GET', `/conversations/${id}`, { user })).body;
    expect(conversation.usage.totalTokens).toBe(first.body.usage.totalTokens);
    const next = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Again?' }, headers: { accept: 'application/json' } });
    expect(next.status, next.raw).toBe(201);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error('condition never held');
}
