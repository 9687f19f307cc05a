import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordedRequest } from '../../local/phiSimulator/startPhiSimulator.js';
import { useServices } from '../../src/app.js';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { InferenceChatModel } from '../../src/model/InferenceChatModel.js';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A slow upstream beside a short lock, over real sockets: the turn stops before its lease does, so a second turn
 * in the same conversation never streams while the first still does.
 */
let t: TestApp;
const LOCK_SECONDS = 5;

beforeAll(async () => {
  t = await startTestApp({
    // The shortest lock these timeouts allow (300 + 2 × 500 + 1000 + 2000 ms ≤ 5 s).
    env: { TURN_LOCK_SECONDS: String(LOCK_SECONDS), PHI_RETRY_BUDGET_MS: '300', PHI_FIRST_BYTE_TIMEOUT_MS: '500', PHI_IDLE_TIMEOUT_MS: '1000' },
    simulator: { replyWords: 60 },
  });
});
afterAll(() => t.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first user message of the prompt: which conversation a completion request belongs to. */
function conversationOf(request: RecordedRequest): string {
  const messages = (request.body as { messages: { role: string; content: string }[] }).messages;
  return messages.find((m) => m.role === 'user')!.content;
}

it('stops a turn that would outlive its lock, keeps what it produced, and never opens two completions for one conversation', async () => {
  const user = 'lease-user';
  const id = await newConversation(t.api, user);
  // Each chunk within the idle timeout, the whole reply far longer than the lock.
  t.sim.faults.next({ kind: 'chunkDelayMs', ms: 250 });
  const first = call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'slow first turn' } });

  // A second turn keeps knocking: refused while the first holds the lock, accepted once it is free.
  let second: TurnResponse | undefined;
  const refusals: number[] = [];
  for (let attempt = 0; attempt < 100 && !second; attempt += 1) {
    await sleep(150);
    const res = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'second turn' }, headers: { accept: 'application/json' } });
    if (res.status === 409) refusals.push(res.status);
    else second = res;
  }
  expect(second?.status).toBe(201);
  expect(refusals.length).toBeGreaterThan(0);

  const stream = await first;
  const terminal = stream.events.at(-1)!;
  expect(terminal.event).toBe('error');
  expect(terminal.data.code).toBe('upstream_timeout');
  expect(terminal.data.detail).toMatch(/lease/);
  const relayed = stream.events.filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');
  expect(relayed.length).toBeGreaterThan(0);

  const history = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user })).body.items as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(history.map((m) => [m.role, m.status])).toEqual([['user', 'complete'], ['assistant', 'incomplete'], ['user', 'complete'], ['assistant', 'complete']]);
  const cut = history[1]!;
  expect(cut.content).toBe(relayed);
  expect(cut.error.code).toBe('upstream_timeout');
  // The model sent no usage before it was cut: the service's own count, once.
  expect(cut.usage.estimated).toBe(true);
  const usage = (await call(t.api, 'GET', '/usage', { user })).body.totals;
  expect(usage.requests).toBe(2);
  expect(usage.totalTokens).toBe(cut.usage.totalTokens + history[3]!.usage.totalTokens);

  // Per conversation, each completion request closed before the next one arrived.
  const requests = t.sim.completionRequests.filter((r) => conversationOf(r) === 'slow first turn');
  expect(requests).toHaveLength(2);
  expect(requests[0]!.closedAt).toBeDefined();
  expect(requests[1]!.receivedAt).toBeGreaterThanOrEqual(requests[0]!.closedAt!);
  // The first was cut upstream long before its reply could have been sent whole (60 words at 250 ms).
  const finished = stream.events.filter((e) => e.event === 'message.delta').length;
  expect(finished).toBeLessThan(60);

  // The conversation is free, its lock not held by the cut turn.
  const conversation = (await call(t.api, 'GET', `/conversations/${id}`, { user })).body;
  expect(conversation.messageCount).toBe(4);
  expect((await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'third' }, headers: { accept: 'application/json' } })).status).toBe(201);
});

it('ends a silent upstream wait at the lease even where the timeouts would wait longer (settings config refuses)', async () => {
  const s = t.services;
  // What TURN_LOCK_SECONDS=3 beside 60 s timeouts would do, built by hand since loadConfig refuses it.
  const patient = new InferenceChatModel({
    endpoint: t.sim.url, apiKey: 'test-key', firstByteTimeoutMs: 60_000, idleTimeoutMs: 60_000, retryBudgetMs: 0, maxConcurrency: 8,
  });
  const turns = new ChatTurns({
    store: s.store, conversations: s.conversations, model: patient, ledger: s.ledger, reservations: s.reservations, clock: s.clock,
    tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: 3, userMaxConcurrentTurns: 4,
  });
  useServices({ ...s, turns, model: patient });
  try {
    const user = 'silent-lease-user';
    const id = await newConversation(t.api, user);
    // The model accepts the request and then says nothing for longer than the lock.
    t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 8_000 });
    const first = call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'silent first turn' } });
    let second: TurnResponse | undefined;
    for (let attempt = 0; attempt < 100 && !second; attempt += 1) {
      await sleep(150);
      const res = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'after the silence' }, headers: { accept: 'application/json' } });
      if (res.status !== 409) second = res;
    }
    expect(second?.status).toBe(201);
    const stream = await first;
    expect(stream.events.at(-1)).toMatchObject({ event: 'error', data: { code: 'upstream_timeout' } });

    const requests = t.sim.completionRequests.filter((r) => conversationOf(r) === 'silent first turn');
    expect(requests).toHaveLength(2);
    expect(requests[0]!.closedAt).toBeDefined();
    expect(requests[1]!.receivedAt).toBeGreaterThanOrEqual(requests[0]!.closedAt!);
    const history = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user })).body.items as { status: string }[];
    // Nothing was produced before the lease ran out: failed, with no usage counted.
    expect(history.map((m) => m.status)).toEqual(['complete', 'failed', 'complete', 'complete']);
    expect((await call(t.api, 'GET', '/usage', { user })).body.totals.requests).toBe(1);
  } finally {
    useServices(s);
  }
});
