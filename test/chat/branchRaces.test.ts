import { describe, expect, it } from 'vitest';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import { Conversations } from '../../src/chat/Conversations.js';
import type { ConversationChanges } from '../../src/chat/ConversationStore.js';
import { findModel, type ModelSpec } from '../../src/chat/modelCatalog.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { TestClock } from '../support/clock.js';
import { MemoryConversationStore } from '../support/memory/MemoryConversationStore.js';
import { MemoryTurnReservations } from '../support/memory/MemoryTurnReservations.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';
import { ScriptedChatModel } from '../support/memory/ScriptedChatModel.js';

/**
 * The tree's races, injected at the exact moment between a read and the write that depends on it (the in-memory
 * store is held to the Cosmos adapter's contract): a turn that starts while a branch switch walks, and a turn that
 * lands between another turn's read and its first write.
 */
const MODEL = findModel('phi-3.5-mini-instruct') as ModelSpec;
const USER = 'branch-races';

function setup() {
  const clock = new TestClock();
  const ledger = new MemoryUsageLedger();
  const store = new MemoryConversationStore(clock, ledger);
  const conversations = new Conversations(store, clock, [MODEL]);
  const turns = new ChatTurns({
    store, conversations, model: new ScriptedChatModel().next(...Array.from({ length: 10 }, () => ({}))), ledger, clock,
    reservations: new MemoryTurnReservations((userId, day) => ledger.tokensOn(userId, day)),
    tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: 30, userMaxConcurrentTurns: 4, storeAttempts: 1, log: () => {},
  });
  const turn = async (id: string, content: string, parentId?: string | null) => {
    const started = await turns.start(USER, id, { content, ...(parentId !== undefined ? { target: { kind: 'send', parentId } } : {}) });
    const outcome = await started.outcome;
    if (outcome.type !== 'completed') throw new Error(outcome.error.message);
    return { user: started.userMessage, assistant: outcome.message };
  };
  return { store, conversations, turns, turn };
}

describe('branch races', () => {
  it('a turn that starts while a branch switch walks makes the switch walk again: the leaf written has no children', async () => {
    const { store, conversations, turn } = setup();
    const id = (await conversations.create(USER, {})).id;
    const first = await turn(id, 'one');
    const second = await turn(id, 'two');
    const update = store.updateConversation.bind(store);
    let injected = false;
    store.updateConversation = async (userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string) => {
      if (!injected && changes.activeLeaf) {
        injected = true;
        // The walk found `second`'s reply; a turn after it lands before the switch is written.
        await turn(id, 'three');
      }
      return update(userId, conversationId, changes, ifMatch);
    };
    const switched = await conversations.update(USER, id, { activeMessageId: first.assistant.id });
    expect(injected).toBe(true);
    const page = await conversations.tree.list(USER, id, { limit: 100, order: 'asc', branch: 'active' });
    expect(page.items.map((m) => m.content).slice(0, 5)).toEqual(['one', first.assistant.content, 'two', second.assistant.content, 'three']);
    expect(switched.activeLeafId).toBe(page.items.at(-1)!.id);
    expect((await store.childrenOf(USER, id, [switched.activeLeafId ?? null])).length).toBe(0);
  });

  it('a turn that lands between another turn\'s reads and its first write refuses that turn (409), and the lane stays a chain', async () => {
    const { store, conversations, turns, turn } = setup();
    const id = (await conversations.create(USER, {})).id;
    await turn(id, 'one');
    const begin = store.beginTurn.bind(store);
    let injected = false;
    store.beginTurn = async (...args: Parameters<typeof store.beginTurn>) => {
      if (!injected) {
        injected = true;
        store.beginTurn = begin;
        await turn(id, 'racing');
      }
      return begin(...args);
    };
    const late = await turns.start(USER, id, { content: 'late' }).then(() => null, (e: unknown) => e as { code?: string });
    expect(late?.code).toBe('conversation_busy');
    const all = await conversations.tree.list(USER, id, { limit: 100, order: 'asc', branch: 'all' });
    expect(all.items.map((m) => m.content)).toEqual(['one', expect.any(String), 'racing', expect.any(String)]);
    expect(all.items.map((m) => m.parentId)).toEqual([null, ...all.items.slice(0, -1).map((m) => m.id)]);
  });
});
