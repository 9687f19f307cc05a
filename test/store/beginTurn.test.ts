import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnStart } from '../../src/chat/ConversationStore.js';
import type { Conversation } from '../../src/chat/conversation.js';
import { newId } from '../../src/chat/ids.js';
import { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';
import { TestClock } from '../support/clock.js';
import { turnStartAt } from '../support/turnStart.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/**
 * The turn's first write is one transactional batch. Cosmos DB applies a batch all or nothing; the embedded store
 * applies it one operation at a time and stops at the first failure, so these races also check that the store
 * undoes what landed of a failed batch: the loser of a race leaves nothing. What any store must do (lock expiry,
 * idempotency windows, other instances' changes) is in the contract suite, `test/store/storeContracts.test.ts`.
 */
let s: TestStore;
let store: CosmosConversationStore;
const clock = new TestClock();
const USER = 'begin-user';

beforeAll(async () => {
  s = await startTestStore();
  store = new CosmosConversationStore(s.container, clock);
});
afterAll(() => s.close());

async function conversation(): Promise<Conversation> {
  const id = newId('c');
  return store.createConversation(USER, {
    id, title: 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {}, createdAt: clock.now().toISOString(),
  });
}

function turnStart(conversationId: string, key?: string, lockMs = 60_000): TurnStart {
  return turnStartAt(clock, USER, conversationId, key, lockMs);
}

async function documentsOf(conversationId: string): Promise<{ id: string; type: string; turnId?: string }[]> {
  const { resources } = await s.container.items
    .query<{ id: string; type: string; turnId?: string }>({
      query: 'SELECT c.id, c.type, c.turnId FROM c WHERE c.userId = @u AND c.conversationId = @c',
      parameters: [{ name: '@u', value: USER }, { name: '@c', value: conversationId }],
    })
    .fetchAll();
  return resources;
}

describe('beginTurn', () => {
  it('takes the lock and stores the messages, numbered after the last, and the idempotency record in one write', async () => {
    const c = await conversation();
    const start = turnStart(c.id, 'k1');
    const begun = await store.beginTurn(USER, c, start);
    if (!begun.started) throw new Error(begun.reason);
    expect(begun.conversation.activeTurn).toEqual(start.turn);
    expect(begun.conversation.lastSeq).toBe(2);
    expect(begun.messages.map((m) => [m.role, m.seq])).toEqual([['user', 1], ['assistant', 2]]);
    expect(await store.getIdempotencyRecord(USER, c.id, 'k1')).toMatchObject({ turnId: start.turn.turnId });
    expect((await documentsOf(c.id)).map((d) => d.type).sort()).toEqual(['idempotency', 'message', 'message']);

    await store.finishTurn(USER, c.id, { turnId: start.turn.turnId, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, messagesAdded: 2, updatedAt: clock.now().toISOString() });
    const fresh = await store.getConversation(USER, c.id);
    const next = await store.beginTurn(USER, fresh!, turnStart(c.id));
    expect(next.started && next.messages.map((m) => m.seq)).toEqual([3, 4]);
  });

  it('lets one of two racing turns (different keys) in; the loser is locked out and leaves no record or message', async () => {
    const c = await conversation();
    const [a, b] = [turnStart(c.id, 'ka'), turnStart(c.id, 'kb')];
    const results = await Promise.all([store.beginTurn(USER, c, a), store.beginTurn(USER, c, b)]);
    expect(results.map((r) => r.started).sort()).toEqual([false, true]);
    const winner = results[0]!.started ? a : b;
    const loser = winner === a ? b : a;
    expect(results.find((r) => !r.started)).toEqual({ started: false, reason: 'locked' });
    const docs = await documentsOf(c.id);
    expect(docs.every((d) => d.turnId === winner.turn.turnId)).toBe(true);
    expect(docs).toHaveLength(3);
    expect(await store.getIdempotencyRecord(USER, c.id, loser.idempotency!.key)).toBeNull();
    expect((await store.getConversation(USER, c.id))?.activeTurn?.turnId).toBe(winner.turn.turnId);
  });

  it('lets one of two racing turns with the same key in; the other learns the key is taken and writes nothing', async () => {
    const c = await conversation();
    const [a, b] = [turnStart(c.id, 'same'), turnStart(c.id, 'same')];
    const results = await Promise.all([store.beginTurn(USER, c, a), store.beginTurn(USER, c, b)]);
    expect(results.map((r) => (r.started ? 'started' : r.reason)).sort()).toEqual(['key_taken', 'started']);
    const winner = results[0]!.started ? a : b;
    const docs = await documentsOf(c.id);
    expect(docs.map((d) => d.turnId)).toEqual([winner.turn.turnId, winner.turn.turnId, winner.turn.turnId]);
  });
});
