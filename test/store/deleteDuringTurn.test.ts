import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/chat/conversation.js';
import { newId, turnMessageIds } from '../../src/chat/ids.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/** The Cosmos documents a delete leaves or removes; the port-level promises are in `storeContracts.test.ts`. */
let s: TestStore;
const USER = 'store-user';

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

async function conversationWithLock(expiresInMs: number): Promise<{ id: string; turnId: string; message: Message }> {
  const id = newId('c');
  await s.store.createConversation(USER, {
    id, title: 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {}, createdAt: new Date().toISOString(),
  });
  const turnId = newId('t');
  const begun = await s.store.beginTurn(USER, { id, etag: '' }, {
    turn: { turnId, expiresAt: new Date(Date.now() + expiresInMs).toISOString() },
    messages: [{
      id: turnMessageIds(turnId).user, conversationId: id, userId: USER, role: 'user', content: 'hi', status: 'complete',
      createdAt: new Date().toISOString(), tokenCount: 1, turnId,
    }],
  });
  if (!begun.started) throw new Error(`turn not started: ${begun.reason}`);
  expect(begun.conversation.activeTurn?.turnId).toBe(turnId);
  expect(begun.messages.map((m) => m.seq)).toEqual([1]);
  return { id, turnId, message: begun.messages[0] as Message };
}

async function idsLeft(id: string): Promise<string[]> {
  const { resources } = await s.container.items
    .query<{ id: string }>({
      query: 'SELECT c.id FROM c WHERE c.userId = @u AND (c.id = @c OR c.conversationId = @c)',
      parameters: [{ name: '@u', value: USER }, { name: '@c', value: id }],
    })
    .fetchAll();
  return resources.map((r) => r.id).sort();
}

describe('deleting a conversation a turn holds', () => {
  it('keeps a hidden tombstone while the lock is live, and the turn’s finishTurn completes the delete', async () => {
    const { id, turnId, message } = await conversationWithLock(60_000);
    expect(await s.store.deleteConversation(USER, id)).toBe(true);
    expect(await s.store.getConversation(USER, id)).toBeNull();
    expect(await idsLeft(id)).toEqual([id]);

    // The sweep leaves the tombstone of a conversation whose turn may still write.
    expect(await s.store.sweepDeleted()).toBe(0);
    expect(await idsLeft(id)).toEqual([id]);
    // The running turn writes its reply after the purge, then finishes.
    await s.store.putMessage({ ...message, id: turnMessageIds(turnId).assistant, role: 'assistant', seq: 2 });
    expect(await idsLeft(id)).toEqual([id, turnMessageIds(turnId).assistant].sort());
    await s.store.finishTurn(USER, id, { turnId, usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, messagesAdded: 2, updatedAt: new Date().toISOString() });
    expect(await idsLeft(id)).toEqual([]);
  });

  it('ignores a lock that has expired (its instance was lost): everything goes at once', async () => {
    const { id } = await conversationWithLock(-1_000);
    expect(await s.store.deleteConversation(USER, id)).toBe(true);
    expect(await idsLeft(id)).toEqual([]);
    expect(await s.store.deleteConversation(USER, id)).toBe(false);
  });
});
