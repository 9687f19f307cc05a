import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

let t: TestApp;
const USER = 'window-user';
const SYSTEM = 'You are a terse assistant. Always answer in English.';

beforeAll(async () => {
  // A 4K model; the simulator refuses any request whose prompt + max_tokens exceeds 4,096 tokens.
  t = await startTestApp({ simulator: { modelId: 'phi-3-mini-4k-instruct', replyWords: 60 } });
});
afterAll(() => t.close());

const turn = (id: string, content: string) =>
  call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content }, headers: { accept: 'application/json' } });

describe('the context window on a 4K model, checked on the wire', () => {
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

  it('refuses maxTokens above the model limit with 400', async () => {
    const res = await call(t.api, 'POST', '/conversations', { user: USER, body: { settings: { maxTokens: 3000 } } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('settings.maxTokens');
  });
});
