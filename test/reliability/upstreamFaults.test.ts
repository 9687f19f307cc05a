import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, WIRES, type TestApp } from '../support/testApp.js';

/**
 * Upstream faults test/functions/turn.test.ts does not cover (a 429 storm, a 503 storm, a model silent past the
 * first-byte deadline, a garbage SSE line, a chunk without `choices`), each checked against what is stored: messages, conversation totals and lock, ledger.
 */
describe.each(WIRES)('upstream faults over the %s wire', (wire) => {
  let t: TestApp;
  const USER = 'upstream-fault-user';
  const DAY = '2026-06-01';

  beforeAll(async () => {
    t = await startTestApp({ wire, env: { PHI_RETRY_BUDGET_MS: '300', SSE_PING_INTERVAL_MS: '200', PHI_FIRST_BYTE_TIMEOUT_MS: '2500' } });
    t.clock.set(`${DAY}T12:00:00Z`);
  });
  afterAll(() => t.close());
  beforeEach(() => t.sim.reset());

  const post = (id: string, content: string, headers: Record<string, string> = {}) =>
    call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content }, headers });

  const history = async (id: string) => (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;
  const conversation = async (id: string) => (await call(t.api, 'GET', `/conversations/${id}`, { user: USER })).body;
  const usageTotals = async () => (await call(t.api, 'GET', `/usage?from=${DAY}&to=${DAY}`, { user: USER })).body.totals;

  function terminal(res: TurnResponse) {
    expect(res.status).toBe(200);
    expect(res.events[0]!.event).toBe('message.created');
    expect(res.events.filter((e) => e.event === 'message.completed' || e.event === 'error')).toHaveLength(1);
    return res.events.at(-1)!;
  }

  const deltaText = (res: TurnResponse) => res.events.filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');

  /** A turn that failed before any text: user message kept, assistant failed with the code, no usage anywhere, lock free. */
  async function expectFailedTurnStored(id: string, code: string, usageBefore: unknown): Promise<void> {
    const stored = await history(id);
    expect(stored.map((m: { role: string; status: string }) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:failed']);
    expect(stored[1]).toMatchObject({ content: '', error: { code } });
    expect(stored[1].usage).toBeUndefined();
    const c = await conversation(id);
    expect(c.usage.totalTokens).toBe(0);
    expect(c.messageCount).toBe(2);
    expect(await usageTotals()).toEqual(usageBefore);
    // The lock was released: the next turn runs.
    expect((await post(id, 'again', { accept: 'application/json' })).status).toBe(201);
  }

  describe('throttling and unavailability that outlast the retries', () => {
    it('a 429 storm ends the stream with rate_limited; the assistant message is failed and no usage is recorded', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 100 }, 50);
      const event = terminal(await post(id, 'Throttled'));
      expect(event.event).toBe('error');
      expect(event.data).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(t.sim.completionRequests.length).toBeGreaterThan(1); // it did retry
      expect(t.sim.completionRequests.every((r) => r.status === 429)).toBe(true);
      t.sim.faults.clear();
      await expectFailedTurnStored(id, 'rate_limited', before);
    });

    it('a 429 storm in JSON mode is an HTTP 429 with Retry-After', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 2_500 }, 50);
      const res = await post(id, 'Throttled', { accept: 'application/json' });
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      t.sim.faults.clear();
      await expectFailedTurnStored(id, 'rate_limited', before);
    });

    it('a 503 storm is upstream_unavailable, stored the same way', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'status', status: 503, retryAfterMs: 50 }, 50);
      const res = await post(id, 'Down', { accept: 'application/json' });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('upstream_unavailable');
      t.sim.faults.clear();
      await expectFailedTurnStored(id, 'upstream_unavailable', before);
    });
  });

  describe('a model that does not answer', () => {
    it('nothing before the first-byte deadline ends the stream with upstream_timeout; stored failed, no usage, not retried', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 5_000 });
      const event = terminal(await post(id, 'Anyone there?'));
      expect(event.event).toBe('error');
      expect(event.data).toMatchObject({ code: 'upstream_timeout' });
      expect(t.sim.completionRequests).toHaveLength(1);
      await expectFailedTurnStored(id, 'upstream_timeout', before);
    });
  });

  describe('malformed streams', () => {
    it('a garbage SSE line after the first chunk: error event, what arrived is stored incomplete with estimated usage, counted once', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'garbageLine' });
      const res = await post(id, 'Garbage ahead');
      const event = terminal(res);
      expect(event).toMatchObject({ event: 'error', data: { code: 'upstream_error' } });
      const [, assistant] = await history(id);
      expect(assistant.status).toBe('incomplete');
      expect(assistant.content).toBe(deltaText(res));
      expect(assistant.usage.estimated).toBe(true);
      const after = await usageTotals();
      expect(after.requests).toBe(before.requests + 1);
      expect(after.totalTokens).toBe(before.totalTokens + assistant.usage.totalTokens);
      expect((await conversation(id)).usage.totalTokens).toBe(assistant.usage.totalTokens);
    });

    it('a chunk without choices is skipped: the turn completes with the model\'s usage from the trailing chunk', async () => {
      const id = await newConversation(t.api, USER);
      const before = await usageTotals();
      t.sim.faults.next({ kind: 'chunkWithoutChoices' });
      const res = await post(id, 'Odd chunks');
      const event = terminal(res);
      expect(event.event).toBe('message.completed');
      const [, assistant] = await history(id);
      expect(assistant).toMatchObject({ status: 'complete', content: deltaText(res), finishReason: 'stop' });
      expect(assistant.usage).toEqual({
        promptTokens: t.sim.usageTotals.promptTokens, completionTokens: t.sim.usageTotals.completionTokens, totalTokens: t.sim.usageTotals.totalTokens,
      });
      expect((await usageTotals()).totalTokens).toBe(before.totalTokens + t.sim.usageTotals.totalTokens);
    });
  });
});
