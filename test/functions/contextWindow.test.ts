import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleContext } from '../../src/chat/contextWindow.js';
import type { Message } from '../../src/chat/conversation.js';
import { findModel } from '../../src/chat/modelCatalog.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { contentTokens } from '../../src/chat/tokenizer/messageCost.js';
import type { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, WIRES, type TestApp } from '../support/testApp.js';
import type { SimulatedWire } from '../../local/phiSimulator/startPhiSimulator.js';

const USER = 'window-user';
const SYSTEM = 'You are a terse assistant. Always answer in English.';

/** A 4K model; the simulator refuses any request whose prompt + max_tokens exceeds 4,096 tokens. */
const startWindowApp = (wire: SimulatedWire) => startTestApp({ wire, simulator: { modelId: 'phi-3-mini-4k-instruct', replyWords: 60 } });

const jsonTurn = (t: TestApp, id: string, content: string) =>
  call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content }, headers: { accept: 'application/json' } });

describe.each(WIRES)('the context window on a 4K model, checked on the %s wire', (wire) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startWindowApp(wire);
  });
  afterAll(() => t.close());
  const turn = (id: string, content: string) => jsonTurn(t, id, content);
  it('never sends a request over the window, always sends the system prompt and the newest message', async () => {
    const id = await newConversation(t.api, USER, { systemPrompt: SYSTEM, settings: { maxTokens: 512 } });
    const paragraph = (n: number) => `Message ${n}: ` + 'the quick brown fox jumps over the lazy dog near the river bank. '.repeat(12);
    let dropped = 0;
    for (let n = 1; n <= 16; n += 1) {
      const res = await turn(id, paragraph(n));
      expect(res.status, res.raw).toBe(201);
      dropped = res.body.context.messagesDropped;
      const request = t.sim.completionRequests.at(-1)!;
      const sent = (request.body as { messages: { role: string; content: string }[] }).messages;
      expect(request.accepted).toBe(true);
      expect(request.promptTokens! + 512).toBeLessThanOrEqual(4096);
      expect(res.body.context.promptTokens).toBe(request.promptTokens);
      expect(sent.at(-1)!.role).toBe('user');
      // The newest message is sent whole (folded with the system prompt when it is the only one).
      expect([paragraph(n), `${SYSTEM}\n\n${paragraph(n)}`]).toContain(sent.at(-1)!.content);
      expect(sent[0]!.role).toBe('user');
      expect(sent[0]!.content.startsWith(`${SYSTEM}\n\n`)).toBe(true);
      expect(sent.some((m) => m.role === 'system')).toBe(false);
    }
    // The history (16 turns: 32 messages, ~6K tokens) is far over 4K: older turns were left out, whole.
    expect(dropped).toBeGreaterThanOrEqual(10);
    expect(t.sim.completionRequests.every((r) => r.accepted)).toBe(true);
    const history = (await call(t.api, 'GET', `/conversations/${id}/messages?limit=100`, { user: USER })).body.items;
    expect(history).toHaveLength(32);
  });

  it('answers 413 with the numbers for a message that cannot fit even alone, without calling the model or storing it', async () => {
    const id = await newConversation(t.api, USER, { systemPrompt: SYSTEM });
    const before = t.sim.completionRequests.length;
    const huge = 'word '.repeat(4000);
    const res = await turn(id, huge);
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'context_length_exceeded', window: 4096, maxTokens: 1024 });
    expect(res.body.promptTokens).toBeGreaterThan(4000);
    expect(t.sim.completionRequests.length).toBe(before);
    expect((await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items).toEqual([]);
    // Not locked either: a message that fits goes through.
    expect((await turn(id, 'short')).status).toBe(201);
  });

  it('sends every request over the wire it was configured for', () => {
    expect(t.sim.completionRequests.length).toBeGreaterThan(0);
    expect(t.sim.completionRequests.every((r) => r.wire === wire)).toBe(true);
  });
});

// Wire-independent (the store's reads and the settings check): once, over the default wire.
describe('the context window on a 4K model, on a long conversation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startWindowApp('openai');
  });
  afterAll(() => t.close());
  const turn = (id: string, content: string) => jsonTurn(t, id, content);

  it('reads a long conversation only as far back as the window reaches, with the same prompt and counts', async () => {
    const id = await newConversation(t.api, USER, { systemPrompt: SYSTEM, settings: { maxTokens: 512 } });
    const spec = findModel('phi-3-mini-4k-instruct')!;
    const tokenizer = tokenizerFor(spec.tokenizer);
    // 600 stored messages of ~45 prompt tokens each, about six times the window: the newest page of 100 already
    // costs more than the window leaves for history, so the turn reads that page and counts the rest. Some are
    // never sent (failed, blank), and the oldest were written before messages carried their `sendable` flag.
    const seeded: Message[] = [];
    for (let seq = 1; seq <= 600; seq += 1) {
      const role = seq % 2 === 1 ? 'user' : 'assistant';
      const failed = role === 'assistant' && seq % 14 === 0;
      const content = failed ? '' : seq % 22 === 0 ? '   ' : `Message ${seq}: ${'a line about rivers, hills and the weather there. '.repeat(3)}`;
      seeded.push({
        id: `m_seed${seq}`, conversationId: id, userId: USER, role, content, status: failed ? 'failed' : 'complete',
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), tokenCount: contentTokens(tokenizer, content), seq, turnId: `t_seed${seq}`,
      });
    }
    const store = t.services.store as CosmosConversationStore;
    for (const m of seeded) {
      if (m.seq <= 100) await t.container.items.create({ ...m, type: 'message' }); // no `sendable` field
      else await store.putMessage(m);
    }
    // Written as before branches (no parentId, no active leaf on the conversation): one line.
    const { resource: conversation } = await t.container.item(id, USER).read<{ lastSeq: number; activeLeafId?: unknown; activePath?: unknown }>();
    const { activeLeafId: _leaf, activePath: _path, ...legacy } = conversation!;
    await t.container.item(id, USER).replace({ ...legacy, lastSeq: 600 });

    const realRead = store.recentMessages.bind(store);
    const realPath = store.pathMessages.bind(store);
    let messagesRead = 0;
    store.recentMessages = async (...args) => {
      const page = await realRead(...args);
      messagesRead += page.items.length;
      return page;
    };
    store.pathMessages = async (...args) => {
      const page = await realPath(...args);
      messagesRead += page.items.length;
      return page;
    };
    try {
      const content = 'And what about tomorrow?';
      const res = await turn(id, content);
      expect(res.status, res.raw).toBe(201);
      // What a whole read would have produced.
      const expected = assembleContext({
        model: spec, systemPrompt: SYSTEM, history: seeded, maxTokens: 512,
        newMessage: { content, tokenCount: contentTokens(tokenizer, content) },
      }, tokenizer);
      expect(res.body.context).toEqual(expected.context);
      expect((t.sim.completionRequests.at(-1)!.body as { messages: unknown }).messages).toEqual(expected.messages);
      expect(expected.context.messagesDropped).toBeGreaterThan(400);
      expect(messagesRead).toBe(100);
    } finally {
      store.recentMessages = realRead;
      store.pathMessages = realPath;
    }
  });

  it('refuses maxTokens above the model limit with 400', async () => {
    const res = await call(t.api, 'POST', '/conversations', { user: USER, body: { settings: { maxTokens: 3000 } } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('settings.maxTokens');
  });
});
