import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MessageStatus } from '../../src/chat/conversation.js';
import type { Message, Page } from '../../src/chat/conversation.js';
import { CONTEXT_SAFETY_MARGIN_TOKENS, assembleContext, foldSystemPrompt, isSendable, planPrompt, sendableCost } from '../../src/chat/contextWindow.js';
import { readHistory } from '../../src/chat/historyRead.js';
import type { ChatTokenizer } from '../../src/chat/tokenizer/ChatTokenizer.js';
import type { ContextRequest, HistoryMessage } from '../../src/chat/contextWindow.js';
import { ChatError } from '../../src/chat/errors.js';
import { findModel } from '../../src/chat/modelCatalog.js';
import type { ModelSpec } from '../../src/chat/modelCatalog.js';
import { contentTokens, messageOverheadTokens, tokenizerFor } from '../../src/chat/tokenizer/index.js';

const WORDS = 'alpha beta gamma delta context window token message 42 1999 中文 emoji 😀 the of and code() {x: 1}'.split(' ');
const SYSTEM = 'You are a helpful assistant. Answer briefly.';

function model(id: string): ModelSpec {
  const spec = findModel(id);
  if (spec === undefined) throw new Error(`no model ${id}`);
  return spec;
}

/** Deterministic text of about `words` words; `seed` makes each message distinct. */
function text(seed: number, words: number): string {
  const out: string[] = [`#${seed}`];
  for (let i = 0; i < words; i++) out.push(WORDS[(seed * 7 + i * 13 + ((seed * i) % 5)) % WORDS.length] as string);
  return out.join(seed % 4 === 0 ? '\n' : ' ');
}

interface Spec {
  readonly role?: HistoryMessage['role'];
  readonly status?: MessageStatus;
  readonly content: string;
}

function stored(spec: ModelSpec, specs: readonly Spec[]): HistoryMessage[] {
  const tokenizer = tokenizerFor(spec.tokenizer);
  return specs.map((s, i) => ({
    role: s.role ?? (i % 2 === 0 ? 'user' : 'assistant'),
    status: s.status ?? 'complete',
    content: s.content,
    tokenCount: contentTokens(tokenizer, s.content),
  }));
}

function history(spec: ModelSpec, count: number, words: (i: number) => number): HistoryMessage[] {
  return stored(spec, Array.from({ length: count }, (_, i) => ({ content: text(i, words(i)) })));
}

function request(spec: ModelSpec, h: HistoryMessage[], newContent: string, maxTokens: number, systemPrompt: string | null = SYSTEM): ContextRequest {
  const tokenizer = tokenizerFor(spec.tokenizer);
  return { model: spec, systemPrompt, history: h, newMessage: { content: newContent, tokenCount: contentTokens(tokenizer, newContent) }, maxTokens };
}

/** Every rule of the contract, checked on one assembled prompt. */
function checkInvariants(req: ContextRequest): ReturnType<typeof assembleContext> {
  const tokenizer = tokenizerFor(req.model.tokenizer);
  const result = assembleContext(req);
  const { messages, context } = result;
  const budget = req.model.contextWindow - CONTEXT_SAFETY_MARGIN_TOKENS - req.maxTokens;

  expect(context.promptTokens).toBe(tokenizer.countPrompt(messages));
  expect(context.promptTokens).toBeLessThanOrEqual(budget);
  expect(context.window).toBe(req.model.contextWindow);
  expect(context.maxTokens).toBe(req.maxTokens);

  const system = req.systemPrompt !== null && req.systemPrompt.trim() !== '' ? req.systemPrompt : null;
  const last = messages[messages.length - 1];
  const sendable = req.history.filter((m) => m.status !== 'failed' && m.content.trim() !== '');
  const sent = messages.map((m) => m.content);
  if (system !== null) {
    // The fold puts the system prompt first in the first user message, whichever message that is.
    expect(messages[0]?.role).toBe('user');
    expect(sent[0]?.startsWith(`${system}\n\n`)).toBe(true);
    sent[0] = (sent[0] as string).slice(system.length + 2);
  }
  expect(last?.role).toBe('user');
  expect(sent[sent.length - 1]).toBe(req.newMessage.content);

  // Contiguous: the sent history is exactly the newest `included - 1` sendable messages, in order.
  const included = context.messagesIncluded;
  expect(messages.length).toBe(included);
  expect(sent.slice(0, -1)).toEqual(sendable.slice(sendable.length - (included - 1)).map((m) => m.content));
  expect(context.messagesDropped).toBe(sendable.length - (included - 1));

  // Maximal up to the fold's few tokens: the next older message (with its question, for a reply) did not fit.
  if (context.messagesDropped > 0) {
    const overhead = messageOverheadTokens(tokenizer);
    const older = sendable.length - included;
    const next = sendable[older] as HistoryMessage;
    const withQuestion = next.role === 'assistant' && older > 0 ? overhead + (sendable[older - 1] as HistoryMessage).tokenCount : 0;
    expect(context.promptTokens + overhead + next.tokenCount + withQuestion).toBeGreaterThan(budget - 4);
  }
  return result;
}

describe('assembleContext', () => {
  it('fits a long history into a 4K window, newest and system prompt always in', () => {
    const spec = model('phi-3-mini-4k-instruct');
    const h = history(spec, 300, (i) => 10 + (i % 40));
    const result = checkInvariants(request(spec, h, 'And the newest question?', 1024));
    expect(result.context.messagesDropped).toBeGreaterThan(100);
    expect(result.context.messagesIncluded).toBeGreaterThan(10);
  });

  it.each([256, 1024, 2048, 3000])('respects the 4K window for maxTokens %i', (maxTokens) => {
    const spec = model('phi-3-medium-4k-instruct');
    checkInvariants(request(spec, history(spec, 120, (i) => (i * 37) % 90), text(999, 20), maxTokens));
  });

  it('fills a 128K window from a 2,000-message history', () => {
    const spec = model('phi-3.5-mini-instruct');
    const h = history(spec, 2000, (i) => 20 + ((i * 31) % 120));
    const result = checkInvariants(request(spec, h, text(5000, 30), 4096));
    expect(result.context.promptTokens).toBeGreaterThan(120_000);
    expect(result.context.messagesDropped).toBeGreaterThan(0);
  });

  it('works the same for Phi-3-small (cl100k) at 8K and 128K', () => {
    for (const id of ['phi-3-small-8k-instruct', 'phi-3-small-128k-instruct']) {
      const spec = model(id);
      checkInvariants(request(spec, history(spec, 800, (i) => 15 + ((i * 17) % 100)), 'newest', 2048));
    }
  });

  it('sends everything, with the exact count, when it all fits', () => {
    const spec = model('phi-3-mini-128k-instruct');
    const h = history(spec, 6, () => 8);
    const { messages, context } = checkInvariants(request(spec, h, 'hi', 100));
    expect(context.messagesIncluded).toBe(7);
    expect(context.messagesDropped).toBe(0);
    expect(messages[0]?.content).toBe(foldSystemPrompt(SYSTEM, h[0]?.content as string));
  });

  it('never sends failed or empty filtered messages and counts them in neither number', () => {
    const spec = model('phi-3-mini-128k-instruct');
    const h = stored(spec, [
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: '', status: 'failed' },
      { role: 'assistant', content: 'partial ans', status: 'failed' },
      { role: 'user', content: 'second question' },
      { role: 'assistant', content: '', status: 'filtered' },
      { role: 'user', content: 'third question' },
      { role: 'assistant', content: 'a cut-off reply', status: 'incomplete' },
    ]);
    const { messages, context } = checkInvariants(request(spec, h, 'fourth', 100));
    expect(messages.map((m) => m.content)).toEqual([
      foldSystemPrompt(SYSTEM, 'first question'),
      'second question',
      'third question',
      'a cut-off reply',
      'fourth',
    ]);
    expect(context).toMatchObject({ messagesIncluded: 5, messagesDropped: 0 });
  });

  it('drops a reply whose question did not fit, so the prompt starts with a user turn', () => {
    const spec = model('phi-3-mini-4k-instruct');
    const big = text(1, 1500);
    const h = stored(spec, [
      { role: 'user', content: big },
      { role: 'assistant', content: 'short reply' },
      { role: 'user', content: 'follow-up' },
      { role: 'assistant', content: 'another reply' },
    ]);
    const { messages, context } = checkInvariants(request(spec, h, 'newest', 1024));
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[0]?.content).toBe(foldSystemPrompt(SYSTEM, 'follow-up'));
    expect(context).toMatchObject({ messagesIncluded: 3, messagesDropped: 2 });
  });

  it('folds nothing without a system prompt', () => {
    const spec = model('phi-3-mini-4k-instruct');
    for (const systemPrompt of [null, '', '  \n']) {
      const h = history(spec, 50, () => 30);
      const { messages } = checkInvariants(request(spec, h, 'plain', 512, systemPrompt === null ? null : systemPrompt));
      expect(messages[0]?.content).toBe(h[h.length - messages.length + 1]?.content);
    }
  });

  it('sends a system message first where the model accepts one', () => {
    const spec: ModelSpec = { ...model('phi-3-mini-4k-instruct'), supportsSystemMessages: true };
    const h = history(spec, 200, () => 25);
    const { messages, context } = assembleContext(request(spec, h, 'newest', 1024));
    expect(messages[0]).toEqual({ role: 'system', content: SYSTEM });
    expect(messages[1]?.role).toBe('user');
    expect(context.promptTokens).toBe(tokenizerFor('phi3').countPrompt(messages));
    expect(context.promptTokens + 1024).toBeLessThanOrEqual(4096 - CONTEXT_SAFETY_MARGIN_TOKENS);
    expect(context.messagesIncluded).toBe(messages.length - 1);
  });

  it('Phi-4: fills the 16K window with the system prompt as its own first message, counted exactly', () => {
    const spec = model('phi-4');
    expect([spec.contextWindow, spec.supportsSystemMessages, spec.tokenizer]).toEqual([16_384, true, 'phi4']);
    const tokenizer = tokenizerFor('phi4');
    const h = history(spec, 600, (i) => 10 + ((i * 23) % 80));
    const newest = text(777, 25);
    const { messages, context } = assembleContext(request(spec, h, newest, 4096));

    expect(messages[0]).toEqual({ role: 'system', content: SYSTEM });
    expect(messages[1]?.role).toBe('user');
    expect(messages[messages.length - 1]).toEqual({ role: 'user', content: newest });
    expect(context.promptTokens).toBe(tokenizer.countPrompt(messages));
    const budget = 16_384 - CONTEXT_SAFETY_MARGIN_TOKENS - 4096;
    expect(context.promptTokens).toBeLessThanOrEqual(budget);
    // Contiguous and unfolded: the newest stored messages, word for word, after the system message.
    expect(context.messagesIncluded).toBe(messages.length - 1);
    expect(messages.slice(1, -1).map((m) => m.content)).toEqual(h.slice(h.length - (context.messagesIncluded - 1)).map((m) => m.content));
    expect(context.messagesDropped).toBe(h.length - (context.messagesIncluded - 1));
    // Full: the next older user/assistant pair would not have fitted.
    const overhead = messageOverheadTokens(tokenizer);
    const older = h.slice(0, h.length - (context.messagesIncluded - 1)).slice(-2);
    expect(context.promptTokens + older.reduce((s, m) => s + overhead + m.tokenCount, 0)).toBeGreaterThan(budget);

    // Without a system prompt the usual rules hold.
    checkInvariants(request(spec, h, newest, 4096, null));
  });

  it('Phi-4: refuses exactly one token over the edge, system message included in the count', () => {
    const spec = model('phi-4');
    const req = request(spec, [], 'hello there', 0);
    const promptTokens = assembleContext(req).context.promptTokens;
    // system (4 + its text) + user (4 + 2) + generation prompt (3).
    expect(promptTokens).toBe(4 + tokenizerFor('phi4').countText(SYSTEM) + 4 + 2 + 3);
    const edge = 16_384 - CONTEXT_SAFETY_MARGIN_TOKENS - promptTokens;
    expect(assembleContext({ ...req, maxTokens: edge }).context.promptTokens).toBe(promptTokens);
    expect(() => assembleContext({ ...req, maxTokens: edge + 1 })).toThrow(ChatError);
  });

  it('refuses a new message that cannot fit even alone, with the numbers', () => {
    const spec = model('phi-3-mini-4k-instruct');
    const huge = text(3, 4000);
    const req = request(spec, history(spec, 10, () => 5), huge, 1024);
    let caught: unknown;
    try {
      assembleContext(req);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ChatError);
    const error = caught as ChatError;
    expect(error.code).toBe('context_length_exceeded');
    const promptTokens = tokenizerFor('phi3').countPrompt([{ role: 'user', content: foldSystemPrompt(SYSTEM, huge) }]);
    expect(error.extra).toEqual({ window: 4096, promptTokens, maxTokens: 1024 });
  });

  it('refuses at the exact edge: one token over the budget throws, exactly on it fits', () => {
    const spec = model('phi-3-mini-4k-instruct');
    const req = request(spec, [], 'hello there', 0);
    const promptTokens = assembleContext(req).context.promptTokens;
    const edge = 4096 - CONTEXT_SAFETY_MARGIN_TOKENS - promptTokens;
    expect(assembleContext({ ...req, maxTokens: edge }).context.promptTokens).toBe(promptTokens);
    expect(() => assembleContext({ ...req, maxTokens: edge + 1 })).toThrow(ChatError);
  });
});

describe('a history read only as far back as the window reaches', () => {
  const message = fc.record({
    role: fc.constantFrom<HistoryMessage['role']>('user', 'assistant'),
    status: fc.constantFrom<MessageStatus>('complete', 'complete', 'complete', 'failed', 'incomplete', 'filtered'),
    blank: fc.oneof(fc.constant(false), fc.constant(false), fc.constant(true)),
    seed: fc.integer({ min: 1, max: 10_000 }),
  });

  /** What `readHistory` would read from this history in pages of `pageSize`, and what the prompt is built from. */
  async function partialRead(history: HistoryMessage[], pageSize: number, room: number, tokenizer: ChatTokenizer) {
    const stored = history.map((m, i) => ({ ...m, seq: i + 1 }) as unknown as Message);
    const pageFrom = (end: number): Page<Message> => ({
      items: stored.slice(Math.max(0, end - pageSize), end).reverse(),
      nextCursor: end - pageSize > 0 ? String(end - pageSize) : null,
    });
    let counted = 0;
    let pages = 1;
    const read = await readHistory(pageFrom(stored.length), {
      next: async (cursor) => {
        pages += 1;
        return pageFrom(Number(cursor));
      },
      countSendableBefore: async (seq) => {
        counted += 1;
        return stored.filter((m) => m.seq < seq && isSendable(m)).length;
      },
    }, room, tokenizer);
    return { ...read, pages, counted };
  }

  it('gives the same prompt and counts as the whole history, for every model, setting and page size', async () => {
    const models = ['phi-3-mini-4k-instruct', 'phi-3-small-8k-instruct', 'phi-4', 'phi-3.5-mini-instruct'].map(model);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...models),
        fc.array(message, { minLength: 5, maxLength: 120, size: 'max' }),
        // Message sizes: all alike (so a read can end right at the room) or varied.
        fc.oneof(fc.integer({ min: 1, max: 60 }).map((w) => () => w), fc.integer({ min: 1, max: 300 }).map((w) => () => w), fc.constant(() => -1)),
        fc.integer({ min: 1, max: 300 }),
        // Small pages often: a read then ends close to the room, where a wrong stopping rule shows.
        fc.oneof(fc.constant(1), fc.constant(2), fc.integer({ min: 1, max: 30 })),
        fc.oneof(fc.constant(1), fc.constant(0.5), fc.constant(1_000_000), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.constantFrom(null, SYSTEM, text(3, 2000)),
        async (spec, specs, size, wordsIfVaried, pageSize, maxFraction, systemPrompt) => {
          const tokenizer = tokenizerFor(spec.tokenizer);
          const history = stored(spec, specs.map((m) => {
            const words = size() === -1 ? (m.seed % wordsIfVaried) + 1 : size();
            return { role: m.role, status: m.status, content: m.blank ? '  ' : text(m.seed, words) };
          }));
          const maxTokens = Math.max(1, Math.min(spec.maxOutputTokens, Math.round(spec.maxOutputTokens * maxFraction)));
          const frame = { model: spec, systemPrompt, maxTokens, newMessage: { content: 'next?', tokenCount: contentTokens(tokenizer, 'next?') } };
          const plan = planPrompt(frame, tokenizer);
          const room = plan.room;
          const whole = attempt(() => assembleContext({ ...frame, history }, tokenizer));
          if (room < 0) {
            expect(whole).toMatchObject({ error: expect.stringContaining('window') });
            return;
          }
          const { history: suffix, olderSendable } = await partialRead(history, pageSize, room, tokenizer);
          const partial = attempt(() => plan.assemble(suffix, olderSendable));
          expect(partial).toEqual(whole);
        },
      ),
      { numRuns: 300, seed: 20261126 },
    );
  });

  it('stops reading exactly when what was read could no longer all be sent', async () => {
    const spec = model('phi-3-mini-4k-instruct');
    const tokenizer = tokenizerFor(spec.tokenizer);
    const history = stored(spec, Array.from({ length: 40 }, (_, i) => ({ content: text(i + 1, 30) })));
    const cost = (n: number) => sendableCost(history.slice(history.length - n), tokenizer);
    // A room that the newest 10 fill exactly: they could all be sent, so the 11th must be read too.
    const exact = await partialRead(history, 1, cost(10), tokenizer);
    expect(exact.history).toHaveLength(11);
    expect(exact.olderSendable).toBe(29);
    // One token less: the 10th no longer fits with the others, the 11th cannot be sent.
    const less = await partialRead(history, 1, cost(10) - 1, tokenizer);
    expect(less.history).toHaveLength(10);
    expect(less.counted).toBe(1);
    // Read to the start: nothing to count.
    const all = await partialRead(history, 7, cost(40), tokenizer);
    expect(all.history).toHaveLength(40);
    expect(all.counted).toBe(0);
  });
});

function attempt<T>(run: () => T): T | { error: string } {
  try {
    return run();
  } catch (error) {
    return { error: String(error) };
  }
}
