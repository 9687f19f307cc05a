import { linePath } from '../../src/chat/BranchPath.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/chat/conversation.js';
import { newId, turnMessageIds } from '../../src/chat/ids.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/** The `sendable` flag on message documents, and the count of old sendable messages a turn does not read. */
let s: TestStore;
const USER = 'history-user';

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

function message(conversationId: string, seq: number, fields: Partial<Message> = {}): Message {
  return {
    id: `m_${conversationId}_${seq}`, conversationId, userId: USER, role: seq % 2 ? 'user' : 'assistant', content: `message ${seq}`,
    status: 'complete', createdAt: new Date().toISOString(), tokenCount: 3, seq, turnId: 't_x', ...fields,
  };
}

async function flagOf(id: string): Promise<unknown> {
  const { resource } = await s.container.item(id, USER).read<{ sendable?: unknown }>();
  return resource?.sendable;
}

describe('the sendable flag', () => {
  it('is written on every message write, as isSendable judges the message', async () => {
    const c = newId('c');
    const cases: [Partial<Message>, boolean][] = [
      [{}, true],
      [{ status: 'failed', content: '' }, false],
      [{ status: 'failed', content: 'partial' }, false],
      [{ status: 'filtered', content: '' }, false],
      [{ status: 'incomplete', content: 'cut short' }, true],
      [{ content: ' \n\t ' }, false],
      [{ status: 'streaming', content: '' }, false],
    ];
    for (const [i, [fields, sendable]] of cases.entries()) {
      const m = message(c, i + 1, fields);
      await s.store.putMessage(m);
      expect([fields, await flagOf(m.id)]).toEqual([fields, sendable]);
    }
    // A placeholder that becomes a reply: rewritten, the flag follows.
    const placeholder = message(c, 20, { role: 'assistant', status: 'streaming', content: '' });
    await s.store.putMessage(placeholder);
    expect(await flagOf(placeholder.id)).toBe(false);
    await s.store.putMessage({ ...placeholder, status: 'complete', content: 'Done.' });
    expect(await flagOf(placeholder.id)).toBe(true);
  });

  it('is written on the messages a turn starts with: the user message true, the empty placeholder false', async () => {
    const c = newId('c');
    const conversation = await s.store.createConversation(USER, { id: c, title: 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {}, createdAt: new Date().toISOString() });
    const turnId = newId('t');
    const ids = turnMessageIds(turnId);
    const { seq: _u, ...user } = message(c, 1, { id: ids.user, turnId });
    const { seq: _a, ...placeholder } = message(c, 2, { id: ids.assistant, turnId, status: 'streaming', content: '' });
    const begun = await s.store.beginTurn(USER, conversation, { turn: { turnId, expiresAt: new Date(Date.now() + 60_000).toISOString() }, messages: [user, placeholder] });
    expect(begun.started).toBe(true);
    expect([await flagOf(ids.user), await flagOf(ids.assistant)]).toEqual([true, false]);
  });
});

describe('countSendableOnPath', () => {
  it('counts flagged messages by their flag and older unflagged ones by status and content, below the given number only', async () => {
    const c = newId('c');
    // Written before the flag existed: no `sendable` field.
    const legacy: [number, Partial<Message>][] = [[1, {}], [2, { status: 'failed', content: 'x' }], [3, { content: '   ' }], [4, { status: 'incomplete', content: 'half' }]];
    for (const [seq, fields] of legacy) await s.container.items.create({ ...message(c, seq, fields), type: 'message' });
    for (const seq of [5, 6, 7]) await s.store.putMessage(message(c, seq, seq === 6 ? { status: 'failed', content: '' } : {}));
    // The flag decides where it is present.
    await s.container.items.create({ ...message(c, 8), type: 'message', sendable: false });
    await s.store.putMessage(message(c, 9));

    expect(await s.store.countSendableOnPath(USER, c, linePath(9), 10)).toBe(5); // 1, 4, 5, 7, 9
    expect(await s.store.countSendableOnPath(USER, c, linePath(9), 5)).toBe(2); // 1, 4
    expect(await s.store.countSendableOnPath(USER, c, linePath(9), 1)).toBe(0);
    expect(await s.store.countSendableOnPath(USER, newId('c'), linePath(9), 10)).toBe(0);
    // Only the path: the line up to 4.
    expect(await s.store.countSendableOnPath(USER, c, linePath(4), 10)).toBe(2);
  });
});
