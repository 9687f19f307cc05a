import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { LEASE_TIMING } from '../../src/chat/leaseTiming.js';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import type { ConversationStore, TurnStart, TurnStartResult } from '../../src/chat/ConversationStore.js';
import type { Conversation } from '../../src/chat/conversation.js';
import { StoreUnavailableError } from '../../src/chat/errors.js';
import type { TurnReservations } from '../../src/chat/TurnReservations.js';
import { CosmosTurnReservations } from '../../src/store/CosmosTurnReservations.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { useServices } from '../../src/app.js';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * The turn's first write (lock, user message, placeholder, idempotency record: one batch) failing in the two ways a
 * network can fail it: before it reached the store, or after it landed with its answer lost. The proxy cannot aim
 * at one request, so the real store is wrapped. Either way nothing may be left behind: no orphan user message (the
 * retry would send it twice), no idempotency record pointing at it, no lock.
 */
let t: TestApp;
const USER = 'start-fault-user';
let fault: 'none' | 'before' | 'answer-lost' | 'older-history' | 'reserve-answer-lost' | 'contended' = 'none';

beforeAll(async () => {
  t = await startTestApp();
  const real = t.services.store;
  const beginTurn = async (userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now?: Date): Promise<TurnStartResult> => {
    if (fault === 'before') throw new StoreUnavailableError('The database is unreachable.', new Error('injected'));
    const result = await real.beginTurn(userId, conversation, start, now);
    if (fault === 'answer-lost') throw new StoreUnavailableError('The database is unreachable.', new Error('injected'));
    return result;
  };
  // The older pages of a long conversation's history (its branch's path below the newest page), read after the first round trip.
  const pathMessages: ConversationStore['pathMessages'] = async (userId, conversationId, path, page) => {
    if (fault === 'older-history') throw new StoreUnavailableError('The database is unreachable.', new Error('injected'));
    return real.pathMessages(userId, conversationId, path, page);
  };
  // Every other method is the real store's own (bound: it keeps its state in #private fields).
  const replaced: Record<string | symbol, unknown> = { beginTurn, pathMessages };
  const flaky = new Proxy(real, {
    get: (target, name) => replaced[name] ?? (Reflect.get(target, name) as (...a: unknown[]) => unknown).bind(target),
  }) as ConversationStore;
  const s = t.services;
  // The reservation's write lands and its answer is lost (the store then fails the request).
  // Contention that outlasts every attempt: another writer changes the caller's reservations between each read
  // and its write (read after the document, the spent tokens are where it gets in; a limit makes them read).
  const contended = new CosmosTurnReservations(t.container, async (userId, day) => {
    const { resource } = await t.container.item('inFlight', userId).read<Record<string, unknown>>();
    await t.container.items.upsert({ reservations: [], ...resource, id: 'inFlight', userId, type: 'inFlight' });
    return s.ledger.tokensOn(userId, day);
  });
  const reservations: TurnReservations = {
    reserve: async (userId, reservation, limits, day, now) => {
      if (fault === 'contended') return contended.reserve(userId, reservation, { ...limits, dailyTokenLimit: 1_000_000 }, day, now);
      const outcome = await s.reservations.reserve(userId, reservation, limits, day, now);
      if (fault === 'reserve-answer-lost') throw new StoreUnavailableError('The database is unreachable.', new Error('injected'));
      return outcome;
    },
    prepare: (...args) => s.reservations.prepare(...args),
    release: (...args) => s.reservations.release(...args),
    open: (...args) => s.reservations.open(...args),
  };
  const turns = new ChatTurns({
    store: flaky, conversations: s.conversations, model: s.model, ledger: s.ledger, reservations, clock: s.clock,
    tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: s.config.limits.turnLockSeconds,
    userMaxConcurrentTurns: s.config.limits.userMaxConcurrentTurns,
  });
  useServices({ ...s, store: flaky, turns });
});
afterAll(() => t.close());
beforeEach(() => {
  fault = 'none';
  t.sim.reset();
});

it.each(['answer-lost', 'before'] as const)(
  'a turn whose first write fails (%s) answers 503 and leaves nothing behind; its retry with the same key runs',
  async (which) => {
    const id = await newConversation(t.api, USER);
    const before = await snapshot(t.container);
    fault = which;
    const headers = { accept: 'application/json', 'idempotency-key': `half-written-${which}` };
    const failed = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Hello?' }, headers });
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('store_unavailable');
    expect(t.sim.completionRequests).toHaveLength(0);
    const after = JSON.parse(await snapshot(t.container)) as { id: string; type: string; activeTurn?: unknown }[];
    expect(after.filter((d) => d.type !== 'conversation')).toEqual(
      (JSON.parse(before) as { type: string }[]).filter((d) => d.type !== 'conversation'),
    );
    expect(after.find((d) => d.id === id)?.activeTurn).toBeNull();

    fault = 'none';
    const retried = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Hello?' }, headers });
    expect(retried.status).toBe(201);
    const items = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;
    expect(items.map((m: { role: string; status: string; content: string }) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete']);
  },
);

/** The caller's open reservations, straight from the store (no document: none). */
async function inFlight(user: string): Promise<{ id: string; expiresAt: string }[]> {
  const { resource } = await t.container.item('inFlight', user).read<{ reservations: { id: string; expiresAt: string }[] }>();
  return resource?.reservations ?? [];
}

it('a reservation whose answer is lost is released: the 503 leaves no slot of the cap held', async () => {
  const user = 'reserve-lost-user';
  const id = await newConversation(t.api, user);
  fault = 'reserve-answer-lost';
  const failed = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hello?' }, headers: { accept: 'application/json' } });
  expect(failed.status).toBe(503);
  expect(failed.body.code).toBe('store_unavailable');
  expect(t.sim.completionRequests).toHaveLength(0);
  expect(await inFlight(user)).toEqual([]);
});

it("a turn that cannot take its place for contention is 429 rate_limited with its own detail, and stores nothing", async () => {
  const user = 'reserve-contended-user';
  const id = await newConversation(t.api, user);
  const before = await snapshot(t.container);
  fault = 'contended';
  const refused = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hello?' }, headers: { accept: 'application/json' } });
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(refused.body).toMatchObject({ code: 'rate_limited', title: 'Too many requests', maxConcurrentTurns: t.services.config.limits.userMaxConcurrentTurns });
  expect(refused.body.detail).toMatch(/other turns kept starting and finishing/);
  expect(refused.body.turnsInFlight).toBeUndefined();
  expect(t.sim.completionRequests).toHaveLength(0);
  const messages = (JSON.parse(await snapshot(t.container)) as { type: string }[]).filter((d) => d.type === 'message');
  expect(messages).toEqual((JSON.parse(before) as { type: string }[]).filter((d) => d.type === 'message'));
});

it("a turn's reservation outlives its lease by the settle budget; the lock does not", async () => {
  const user = 'reserve-expiry-user';
  const id = await newConversation(t.api, user);
  t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 1_000 });
  const running = call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hello?' }, headers: { accept: 'application/json' } });
  await vi.waitFor(() => expect(t.sim.openCompletions).toBe(1), { timeout: 5_000, interval: 10 });
  const [held] = await inFlight(user);
  const { resource } = await t.container.item(id, user).read<{ activeTurn: { turnId: string; expiresAt: string } }>();
  expect(held!.id).toBe(resource!.activeTurn.turnId);
  expect(Date.parse(held!.expiresAt) - Date.parse(resource!.activeTurn.expiresAt)).toBe(LEASE_TIMING.settleBudgetMs);
  expect((await running).status).toBe(201);
  expect(await inFlight(user)).toEqual([]);
});

it('a long conversation whose older history cannot be read answers 503 before anything is written', async () => {
  const id = await newConversation(t.api, USER);
  // 150 short messages: the newest 100 leave room in the window, so the turn reads further back.
  for (let seq = 1; seq <= 150; seq += 1) {
    await t.services.store.putMessage({
      id: `m_old${seq}`, conversationId: id, userId: USER, role: seq % 2 ? 'user' : 'assistant', content: `old ${seq}`,
      status: 'complete', createdAt: new Date().toISOString(), tokenCount: 3, seq, turnId: `t_old${seq}`,
    });
  }
  // Written as before branches (no parentId, no active leaf on the conversation): one line.
  const { resource } = await t.container.item(id, USER).read<Record<string, unknown>>();
  const { activeLeafId: _leaf, activePath: _path, ...legacy } = resource!;
  await t.container.item(id, USER).replace({ ...legacy, lastSeq: 150 });
  const before = await snapshot(t.container);
  fault = 'older-history';
  const failed = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'And now?' }, headers: { accept: 'application/json' } });
  expect(failed.status).toBe(503);
  expect(failed.body.code).toBe('store_unavailable');
  expect(t.sim.completionRequests).toHaveLength(0);
  expect(await snapshot(t.container)).toBe(before);

  fault = 'none';
  const retried = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'And now?' }, headers: { accept: 'application/json' } });
  expect(retried.status).toBe(201);
  expect(retried.body.context.messagesIncluded).toBe(151);
});
