import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation, Message } from '../../src/chat/conversation.js';
import { newId } from '../../src/chat/ids.js';
import { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';
import { CosmosUsageLedger } from '../../src/store/CosmosUsageLedger.js';
import { TestClock } from '../support/clock.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';
import { turnStartAt } from '../support/turnStart.js';

/**
 * The Cosmos adapter's settle that also finishes the turn (one write after the model instead of two): on the
 * instance that began the turn it does, with the usage recorded once; where that instance's copy is stale or
 * missing, it writes the reply and its usage alone and says so, and finishTurn does the rest.
 */
let s: TestStore;
let ledger: CosmosUsageLedger;
const clock = new TestClock();
const USER = 'settle-user';
const day = (): string => clock.now().toISOString().slice(0, 10);

beforeAll(async () => {
  s = await startTestStore();
  ledger = new CosmosUsageLedger(s.container);
});
afterAll(() => s.close());

async function begun(store: CosmosConversationStore): Promise<{ c: Conversation; reply: Message; turnId: string }> {
  const c = await store.createConversation(USER, {
    id: newId('c'), title: 't', model: 'phi-4-mini-instruct', systemPrompt: null, settings: {}, createdAt: clock.now().toISOString(),
  });
  const start = turnStartAt(clock, USER, c.id);
  const result = await store.beginTurn(USER, c, start);
  if (!result.started) throw new Error(result.reason);
  const reply: Message = { ...result.messages[1]!, content: 'the reply', status: 'complete', tokenCount: 2, finishReason: 'stop' };
  return { c, reply, turnId: start.turn.turnId };
}

const usage = { promptTokens: 30, completionTokens: 2, totalTokens: 32 };

describe('a settle that finishes its turn', () => {
  it('finishes it in the same write on the instance that began it, and a retry counts nothing twice', async () => {
    const store = new CosmosConversationStore(s.container, clock);
    const { c, reply, turnId } = await begun(store);
    const entry = { turnId, conversationId: c.id, model: 'phi-4-mini-instruct', day: day(), usage };
    const outcome = { turnId, usage, messagesAdded: 2, updatedAt: clock.now().toISOString() };
    const spentBefore = await ledger.tokensOn(USER, day());
    expect(await store.settleMessage(reply, entry, outcome)).toBe(true);
    expect(await store.getConversation(USER, c.id)).toMatchObject({ activeTurn: null, messageCount: 2, usage: { totalTokens: 32 } });
    // Retried (its answer lost): the ledger and the totals already have it, the reply is written again, no finish.
    expect(await store.settleMessage(reply, entry, outcome)).toBe(false);
    await store.finishTurn(USER, c.id, outcome);
    const other = new CosmosConversationStore(s.container, clock);
    expect(await other.getConversation(USER, c.id)).toMatchObject({ activeTurn: null, messageCount: 2, usage: { totalTokens: 32 } });
    expect(await ledger.tokensOn(USER, day())).toBe(spentBefore + 32);
    expect((await other.getMessage(USER, reply.id))?.content).toBe('the reply');
    // What the next turn plans on is the finished conversation.
    expect(store.rememberedTurnView(USER, c.id, 100)?.conversation).toEqual(await other.getConversation(USER, c.id));
  });

  it('writes the reply and its usage alone, and says so, when another instance changed the conversation since', async () => {
    const store = new CosmosConversationStore(s.container, clock);
    const { c, reply, turnId } = await begun(store);
    const other = new CosmosConversationStore(s.container, clock);
    await other.updateConversation(USER, c.id, { title: 'renamed elsewhere', updatedAt: clock.now().toISOString() });
    const entry = { turnId, conversationId: c.id, model: 'phi-4-mini-instruct', day: day(), usage };
    const spentBefore = await ledger.tokensOn(USER, day());
    expect(await store.settleMessage(reply, entry, { turnId, usage, messagesAdded: 2, updatedAt: clock.now().toISOString() })).toBe(false);
    expect(await ledger.tokensOn(USER, day())).toBe(spentBefore + 32);
    expect((await other.getMessage(USER, reply.id))?.status).toBe('complete');
    // Still held, for finishTurn to free.
    expect((await other.getConversation(USER, c.id))?.activeTurn?.turnId).toBe(turnId);
    expect((await other.getConversation(USER, c.id))?.title).toBe('renamed elsewhere');
  });
});
