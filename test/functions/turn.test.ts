import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, WIRES, type TestApp } from '../support/testApp.js';

describe.each(WIRES)('a turn over the %s wire', (wire) => {
  let t: TestApp;
  const USER = 'turn-user';

  beforeAll(async () => {
    // Phi-3.5 named, not the default model: these turns check Phi-3's folded system prompt and its exact counts.
    t = await startTestApp({ wire, simulator: { modelId: 'phi-3.5-mini-instruct' }, env: { SSE_PING_INTERVAL_MS: '40', PHI_FIRST_BYTE_TIMEOUT_MS: '5000', PHI_IDLE_TIMEOUT_MS: '1500', STREAM_CHECKPOINT_MS: '100' } });
  });
  afterAll(() => t.close());
  beforeEach(() => t.sim.reset());

  const post = (id: string, content: string, headers: Record<string, string> = {}) =>
    call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content }, headers });

  const history = async (id: string) => (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;

  /** The messages a recorded completion request sent. */
  function sent(index: number): { role: string; content: string }[] {
    const request = index < 0 ? t.sim.completionRequests.at(index) : t.sim.completionRequests[index];
    return (request?.body as { messages: { role: string; content: string }[] }).messages;
  }

  function names(res: TurnResponse): string[] {
    return res.events.map((e) => e.event);
  }

  function deltaText(res: TurnResponse): string {
    return res.events.filter((e) => e.event === 'message.delta').map((e) => e.data.content).join('');
  }

  /** The stream contract: created first, one terminal event last, nothing after it. */
  function expectWellFormed(res: TurnResponse, terminal: 'message.completed' | 'error'): void {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const all = names(res);
    expect(all[0]).toBe('message.created');
    expect(all.at(-1)).toBe(terminal);
    expect(all.filter((n) => n === 'message.completed' || n === 'error')).toHaveLength(1);
  }

  describe('a normal turn', () => {
    it('streams created, deltas and completed, and stores both messages with the model usage', async () => {
      const id = await newConversation(t.api, USER, { systemPrompt: 'You are a helpful assistant.' });
      const res = await post(id, 'How many languages are in the world?');
      expectWellFormed(res, 'message.completed');
      const deltas = res.events.filter((e) => e.event === 'message.delta');
      expect(deltas.length).toBeGreaterThan(3);

      const completed = res.events.at(-1)!.data;
      const reported = t.sim.completionRequests[0]!;
      expect(t.sim.completionRequests).toHaveLength(1);
      expect(reported.wire).toBe(wire);
      // The system prompt is folded into the first user turn: nothing is sent with role "system".
      expect(sent(0).map((m) => m.role)).toEqual(['user']);
      expect(sent(0)[0]!.content).toBe('You are a helpful assistant.\n\nHow many languages are in the world?');
      expect(completed.message.content).toBe(deltaText(res));
      expect(completed.message.status).toBe('complete');
      expect(completed.message.finishReason).toBe('stop');
      expect(completed.message.usage).toEqual({
        promptTokens: t.sim.usageTotals.promptTokens,
        completionTokens: t.sim.usageTotals.completionTokens,
        totalTokens: t.sim.usageTotals.totalTokens,
      });
      // The service's own count of the prompt equals what the model (simulator, real tokenizer) counted.
      expect(completed.context.promptTokens).toBe(reported.promptTokens);
      expect(completed.context).toMatchObject({ window: 131072, maxTokens: 1024, messagesIncluded: 1, messagesDropped: 0 });

      const stored = await history(id);
      expect(stored.map((m: { role: string; status: string }) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete']);
      expect(stored[0].id).toBe(res.events[0]!.data.userMessage.id);
      expect(stored[1].id).toBe(res.events[0]!.data.assistantMessageId);
      expect(stored[1].content).toBe(deltaText(res));
      const conversation = (await call(t.api, 'GET', `/conversations/${id}`, { user: USER })).body;
      expect(conversation.messageCount).toBe(2);
      expect(conversation.usage.totalTokens).toBe(completed.message.usage.totalTokens);
    });

    it('answers 201 with both messages and the context in JSON mode', async () => {
      const id = await newConversation(t.api, USER);
      const res = await post(id, 'Hello there', { accept: 'application/json' });
      expect(res.status).toBe(201);
      expect(res.body.userMessage).toMatchObject({ role: 'user', content: 'Hello there', status: 'complete' });
      expect(res.body.assistantMessage).toMatchObject({ role: 'assistant', status: 'complete', finishReason: 'stop' });
      expect(res.body.assistantMessage.usage.totalTokens).toBe(t.sim.usageTotals.totalTokens);
      expect(res.body.context.messagesIncluded).toBe(1);
      expect((await history(id)).map((m: { id: string }) => m.id)).toEqual([res.body.userMessage.id, res.body.assistantMessage.id]);
    });

    it('sends earlier turns as history on the next turn', async () => {
      const id = await newConversation(t.api, USER);
      await post(id, 'First question', { accept: 'application/json' });
      const second = await post(id, 'Second question', { accept: 'application/json' });
      expect(second.body.context.messagesIncluded).toBe(3);
      expect(sent(-1).map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(sent(-1)[2]!.content).toBe('Second question');
    });
  });

  describe('the model it talks to', () => {
    it('GET /api/model names it: from /info on the inference wire, from the catalog on the v1 wire (which has no /info)', async () => {
      const res = await call(t.api, 'GET', '/model', { user: USER });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        modelName: t.sim.model.displayName, modelType: 'chat-completions', modelProviderName: 'Microsoft', contextWindow: t.sim.model.contextWindow,
      });
      expect(t.sim.requests.filter((r) => r.path === '/info')).toHaveLength(wire === 'inference' ? 1 : 0);
    });
  });

  describe('upstream faults', () => {
    it('retries 429 twice, then succeeds, with one stored reply and usage counted once', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 30 }, 2);
      const res = await post(id, 'Please retry');
      expectWellFormed(res, 'message.completed');
      expect(t.sim.completionRequests.map((r) => r.status)).toEqual([429, 429, 200]);
      const stored = await history(id);
      expect(stored).toHaveLength(2);
      expect(stored[1].usage.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    });

    it('keeps what arrived when the stream drops after 3 chunks: error event, message incomplete, usage estimated', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'dropAfterChunks', chunks: 3 });
      const res = await post(id, 'Tell me something long');
      expectWellFormed(res, 'error');
      expect(res.events.at(-1)!.data).toMatchObject({ status: 502, code: 'upstream_error' });
      const partial = deltaText(res);
      expect(partial.length).toBeGreaterThan(0);
      expect(t.sim.completionRequests).toHaveLength(1);
      const [, assistant] = await history(id);
      expect(assistant).toMatchObject({ status: 'incomplete', content: partial });
      expect(assistant.usage.estimated).toBe(true);
      expect(assistant.usage.completionTokens).toBeGreaterThan(0);
    });

    it('reports a 500 as upstream_error with nothing produced: message failed, user message kept', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'status', status: 500 });
      const res = await post(id, 'This will fail');
      expectWellFormed(res, 'error');
      expect(res.events.at(-1)!.data.code).toBe('upstream_error');
      const [user, assistant] = await history(id);
      expect(user).toMatchObject({ content: 'This will fail', status: 'complete' });
      expect(assistant).toMatchObject({ status: 'failed', content: '' });
      expect(assistant.error.code).toBe('upstream_error');
      expect(assistant.usage).toBeUndefined();
    });

    it('stores a content-filter refusal as filtered with empty content (stream: error event; JSON: 400)', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'contentFilter' });
      const res = await post(id, 'Chopping tomatoes');
      expectWellFormed(res, 'error');
      expect(res.events.at(-1)!.data).toMatchObject({ status: 400, code: 'content_filtered' });
      t.sim.faults.next({ kind: 'contentFilter' });
      const json = await post(id, 'Chopping tomatoes again', { accept: 'application/json' });
      expect(json.status).toBe(400);
      expect(json.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(json.body.code).toBe('content_filtered');
      const stored = await history(id);
      expect(stored.map((m: { role: string; status: string; content: string }) => `${m.role}:${m.status}:${m.content.length > 0}`)).toEqual([
        'user:complete:true', 'assistant:filtered:false', 'user:complete:true', 'assistant:filtered:false',
      ]);
    });

    it('sends pings while the model is slow to start', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 400 });
      const res = await post(id, 'Take your time');
      expectWellFormed(res, 'message.completed');
      expect(res.pings).toBeGreaterThanOrEqual(2);
      expect(res.raw.indexOf(': ping')).toBeLessThan(res.raw.indexOf('event: message.delta'));
    });

    it('counts usage itself and marks it estimated when the model sends none', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'noUsage' });
      const res = await post(id, 'No usage please');
      expectWellFormed(res, 'message.completed');
      const message = res.events.at(-1)!.data.message;
      const request = t.sim.completionRequests[0]!;
      expect(message.usage.estimated).toBe(true);
      expect(message.usage.promptTokens).toBe(request.promptTokens);
      expect(message.usage.completionTokens).toBe(message.tokenCount);
      expect(message.usage.totalTokens).toBe(message.usage.promptTokens + message.usage.completionTokens);
    });

    it('stores a reply the filter cut mid-stream as filtered, keeps what came, and bills it (estimated when the model sent no usage)', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next([{ kind: 'filterMidStream', afterChunks: 4 }, { kind: 'noUsage' }]);
      const res = await post(id, 'Say something the filter stops');
      expectWellFormed(res, 'error');
      expect(res.events.at(-1)!.data.code).toBe('content_filtered');
      const [, assistant] = await history(id);
      expect(assistant).toMatchObject({ status: 'filtered', content: deltaText(res), finishReason: 'content_filter' });
      expect(deltaText(res).length).toBeGreaterThan(0);
      expect(assistant.usage).toMatchObject({ estimated: true, completionTokens: assistant.tokenCount });
      expect(assistant.usage.totalTokens).toBeGreaterThan(0);
      const usage = (await call(t.api, 'GET', '/usage', { user: USER })).body.days.at(-1);
      expect(usage.totalTokens).toBeGreaterThanOrEqual(assistant.usage.totalTokens);
    });

    it('saves the reply while it streams, so a lost instance would leave what was produced', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'chunkDelayMs', ms: 25 });
      const streaming = post(id, 'Take a while');
      let seen: { status: string; content: string; tokenCount: number } | undefined;
      for (let i = 0; i < 300 && !(seen?.status === 'streaming' && seen.content); i += 1) {
        await new Promise((r) => setTimeout(r, 10));
        seen = (await history(id))[1];
      }
      const res = await streaming;
      expectWellFormed(res, 'message.completed');
      const final = res.events.at(-1)!.data.message;
      // A checkpoint: still streaming, a true prefix of the final reply, counted.
      expect(seen?.status).toBe('streaming');
      expect(seen!.content.length).toBeGreaterThan(0);
      expect(seen!.content.length).toBeLessThan(final.content.length);
      expect(final.content.startsWith(seen!.content)).toBe(true);
      expect(seen!.tokenCount).toBeGreaterThan(0);
      // No checkpoint lands after the final write.
      await new Promise((r) => setTimeout(r, 300));
      expect((await history(id))[1]).toMatchObject({ status: 'complete', content: final.content });
    });

    it('ends a stream that goes silent with upstream_timeout and keeps the partial reply', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'neverEnd' });
      const res = await post(id, 'Never ending');
      expectWellFormed(res, 'error');
      expect(res.events.at(-1)!.data.code).toBe('upstream_timeout');
      const [, assistant] = await history(id);
      expect(['incomplete', 'failed']).toContain(assistant.status);
      expect(assistant.content).toBe(deltaText(res));
    });
  });

  describe('one turn at a time, idempotent retries', () => {
    it('refuses a second concurrent turn with 409 and stores only the first', async () => {
      const id = await newConversation(t.api, USER);
      t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 400 });
      const first = post(id, 'first');
      await new Promise((r) => setTimeout(r, 150));
      const second = await post(id, 'second');
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('conversation_busy');
      expectWellFormed(await first, 'message.completed');
      const stored = await history(id);
      expect(stored.map((m: { content: string; role: string }) => m.role === 'user' && m.content).filter(Boolean)).toEqual(['first']);
      // The lock is released: the next turn goes through.
      expect((await post(id, 'third', { accept: 'application/json' })).status).toBe(201);
    });

    it('replays a retried POST with the same Idempotency-Key: no second message, model call or usage', async () => {
      const id = await newConversation(t.api, USER);
      const key = { 'idempotency-key': 'retry-1' };
      const first = await post(id, 'Only once', key);
      expectWellFormed(first, 'message.completed');
      const usageBefore = (await call(t.api, 'GET', '/usage', { user: USER })).body.totals;
      const again = await post(id, 'Only once', key);
      expectWellFormed(again, 'message.completed');
      expect(again.events[0]!.data.userMessage.id).toBe(first.events[0]!.data.userMessage.id);
      expect(again.events.at(-1)!.data.message).toEqual(first.events.at(-1)!.data.message);
      const json = await post(id, 'Only once', { ...key, accept: 'application/json' });
      expect(json.status).toBe(201);
      expect(json.body.assistantMessage.id).toBe(first.events[0]!.data.assistantMessageId);
      expect(t.sim.completionRequests).toHaveLength(1);
      expect(await history(id)).toHaveLength(2);
      expect((await call(t.api, 'GET', '/usage', { user: USER })).body.totals).toEqual(usageBefore);
      // The replay window and the lock read the service's clock, as the turn does, not the wall clock.
      t.clock.set('2026-06-01T12:00:00Z');
      const shifted = await post(id, 'Only once', { ...key, accept: 'application/json' });
      t.clock.set(new Date());
      expect(shifted.body.assistantMessage.id).toBe(first.events[0]!.data.assistantMessageId);
      expect(t.sim.completionRequests).toHaveLength(1);
      const reused = await post(id, 'A different body', key);
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('idempotency_key_reused');
    });
  });
});
