import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation, Message } from '../../src/chat/conversation.js';
import { newId } from '../../src/chat/ids.js';
import { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';
import { TestClock } from '../support/clock.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';
import { turnStartAt } from '../support/turnStart.js';

/**
 * What the Cosmos adapter offers a turn to plan on instead of reading: the conversation and all its messages as
 * this instance wrote them. Whenever it offers one, it is exactly what reads return; what the contract suite checks
 * (a start planned on an older version answers `stale`) is what keeps an older one harmless.
 */
let s: TestStore;
let store: CosmosConversationStore;
const clock = new TestClock();
const USER = 'view-user';
const ZERO = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

beforeAll(async () => {
  s = await startTestStore();
  store = new CosmosConversationStore(s.container, clock);
});
afterAll(() => s.close());

async function conversation(on = store): Promise<Conversation> {
  return on.createConversation(USER, {
    id: newId('c'), title: 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {}, createdAt: clock.now().toISOString(),
  });
}

/** A whole turn on `on`: started, its reply settled with usage, finished. */
async function turn(on: CosmosConversationStore, c: Pick<Conversation, 'id' | 'etag'>, reply: string): Promise<Message> {
  const start = turnStartAt(clock, USER, c.id);
  const begun = await on.beginTurn(USER, c, start);
  if (!begun.started) throw new Error(begun.reason);
  const settled: Message = { ...begun.messages[1]!, content: reply, status: 'complete', tokenCount: 2, finishReason: 'stop' };
  await on.settleMessage(settled, { turnId: start.turn.turnId, conversationId: c.id, model: 'phi-3.5-mini-instruct', day: clock.now().toISOString().slice(0, 10), usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } });
  await on.finishTurn(USER, c.id, { turnId: start.turn.turnId, usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() });
  return settled;
}

async function expectViewIsReads(conversationId: string): Promise<void> {
  const view = store.rememberedTurnView(USER, conversationId, 100);
  expect(view).not.toBeNull();
  expect(view?.conversation).toEqual(await store.getConversation(USER, conversationId));
  expect(view?.newestPage).toEqual(await store.recentMessages(USER, conversationId, { limit: 100 }));
}

describe('the turn view this instance remembers', () => {
  it('is what reads return: after the create, after its turns (settled replies), after feedback', async () => {
    const c = await conversation();
    expect(store.rememberedTurnView(USER, c.id, 100)?.newestPage).toEqual({ items: [], nextCursor: null });
    const first = await turn(store, c, 'first reply');
    const view = store.rememberedTurnView(USER, c.id, 100)!;
    expect(view.newestPage.items.map((m) => m.content)).toEqual(['first reply', 'hi']);
    await turn(store, view.conversation, 'second reply');
    await expectViewIsReads(c.id);
    await store.modifyMessage(USER, c.id, first.id, (m) => ({ ...m, feedback: { rating: 'up', comment: null, updatedAt: clock.now().toISOString() } }));
    await expectViewIsReads(c.id);
    await store.updateConversation(USER, c.id, { title: 'renamed here', updatedAt: clock.now().toISOString() });
    await expectViewIsReads(c.id);
  });

  it('is never offered while a turn holds the conversation as the view, and not past `limit` messages', async () => {
    const c = await conversation();
    await turn(store, c, 'a reply');
    expect(store.rememberedTurnView(USER, c.id, 1)).toBeNull();
    const current = (await store.getConversation(USER, c.id))!;
    const begun = await store.beginTurn(USER, current, turnStartAt(clock, USER, c.id));
    // Held: the view says so, and the core reads before deciding anything on a held lock.
    expect(store.rememberedTurnView(USER, c.id, 100)?.conversation.activeTurn).toEqual(begun.started ? begun.conversation.activeTurn : 'not started');
  });

  it('is of an older version once another instance changed the conversation: a start planned on it is stale', async () => {
    const c = await conversation();
    await turn(store, c, 'here');
    const other = new CosmosConversationStore(s.container, clock);
    await turn(other, (await other.getConversation(USER, c.id))!, 'there');
    const view = store.rememberedTurnView(USER, c.id, 100)!;
    expect(view.newestPage.items).toHaveLength(2);
    const result = await store.beginTurn(USER, view.conversation, { ...turnStartAt(clock, USER, c.id), planned: 'remembered' });
    expect(result).toEqual({ started: false, reason: 'stale' });
    // A read moves this instance on: the older messages are no longer offered as the current version's.
    await store.getConversation(USER, c.id);
    expect(store.rememberedTurnView(USER, c.id, 100)).toBeNull();
  });

  it('is not kept for a conversation past 100,000 characters of messages (it is read instead)', async () => {
    const c = await conversation();
    await turn(store, c, 'x'.repeat(99_990));
    expect(store.rememberedTurnView(USER, c.id, 100)).not.toBeNull();
    await turn(store, (await store.getConversation(USER, c.id))!, 'a reply that crosses the line');
    expect(store.rememberedTurnView(USER, c.id, 100)).toBeNull();
  });

  it('is not offered for a conversation being deleted or gone', async () => {
    const c = await conversation();
    await turn(store, c, 'reply');
    expect(await store.deleteConversation(USER, c.id)).toBe(true);
    expect(store.rememberedTurnView(USER, c.id, 100)).toBeNull();
  });
});
