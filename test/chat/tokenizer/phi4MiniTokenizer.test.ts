import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_ID, findModel } from '../../../src/chat/modelCatalog.js';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { PHI4_MINI_SPECIAL_TOKENS, TiktokenBpe, contentTokens, messageOverheadTokens, tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { CORPUS } from './corpus.js';

const mini = tokenizerFor('phi4mini');

// The reference: js-tiktoken's own o200k_base (its ranks and its pre-tokenizer), plain BPE, no special tokens.
const ranks = createRequire(import.meta.url)('js-tiktoken/ranks/o200k_base') as TiktokenBPE;
const plain = new Tiktoken(ranks);
const bpe = (text: string): number[] => (text === '' ? [] : plain.encode(text, [], []));

/**
 * Phi-4-mini's added tokens as written in Microsoft's tokenizer_config.json, restated here rather than imported,
 * so that a wrong id or flag in the source fails the tests below.
 */
const ADDED: Readonly<Record<string, { id: number; rstrip: boolean }>> = {
  '<|endoftext|>': { id: 199_999, rstrip: false },
  '<|endofprompt|>': { id: 200_018, rstrip: false },
  '<|assistant|>': { id: 200_019, rstrip: true },
  '<|end|>': { id: 200_020, rstrip: true },
  '<|user|>': { id: 200_021, rstrip: true },
  '<|system|>': { id: 200_022, rstrip: true },
  '<|tool|>': { id: 200_023, rstrip: true },
  '<|/tool|>': { id: 200_024, rstrip: true },
  '<|tool_call|>': { id: 200_025, rstrip: true },
  '<|/tool_call|>': { id: 200_026, rstrip: true },
  '<|tool_response|>': { id: 200_027, rstrip: true },
  '<|tag|>': { id: 200_028, rstrip: true },
};
const SPLIT = new RegExp(`(${Object.keys(ADDED).map((t) => t.replace(/[|/]/g, '\\$&')).join('|')})`, 'u');
const LEADING_WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/**
 * Hugging Face's reading of the prompt, written another way: render Microsoft's chat template to one string, cut
 * it at every added token, drop the white space right after each `rstrip` token, BPE the pieces between.
 */
function referencePrompt(messages: readonly PromptMessage[]): number[] {
  const rendered = messages.map((m) => `<|${m.role}|>${m.content}<|end|>`).join('') + '<|assistant|>';
  const ids: number[] = [];
  let strip = false;
  rendered.split(SPLIT).forEach((part, i) => {
    if (i % 2 === 1) {
      const token = ADDED[part] as { id: number; rstrip: boolean };
      ids.push(token.id);
      strip = token.rstrip;
    } else {
      ids.push(...bpe(strip ? part.replace(LEADING_WHITE_SPACE, '') : part));
    }
  });
  return ids;
}

/** Every way a tokenizer can give a prompt's size, checked against each other and against the reference. */
function expectReferencePrompt(messages: readonly PromptMessage[]): void {
  const ids = mini.encodePrompt(messages);
  expect(ids).toEqual(referencePrompt(messages));
  expect(mini.countPrompt(messages)).toBe(ids.length);
  expect(messages.reduce((s, m) => s + mini.messageTokens(m), 0) + mini.generationPromptTokens).toBe(ids.length);
}

const ROLES = ['system', 'user', 'assistant'] as const;

describe('Phi-4-mini tokenizer', () => {
  it("gives the contract's 38 ids for its system + user example (Hugging Face's, microsoft/onnxruntime-extensions)", () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'Your name is Phi, an AI math expert developed by Microsoft. You are a medieval knight and must provide explanations to modern people.' },
      { role: 'user', content: 'How should I explain the Internet?' },
    ];
    const expected = [
      200022, 9719, 1308, 382, 102143, 11, 448, 20837, 13324, 8333, 9742, 656, 8321, 13, 1608, 553, 261, 55145, 105457, 326, 2804, 3587, 69457, 316,
      6809, 1665, 13, 200020, 200021, 5299, 1757, 357, 16644, 290, 7380, 30, 200020, 200019,
    ];
    expect(mini.encodePrompt(messages)).toEqual(expected);
    expect(mini.countPrompt(messages)).toBe(38);
  });

  it('parses every rank of o200k_base, one byte sequence each', () => {
    const o200k = new TiktokenBpe(ranks);
    expect(o200k.size).toBe(199_998);
    expect(o200k.rankOf('hello')).toBe(24_912);
    expect(o200k.rankOf(Buffer.from(' 中国', 'utf8').toString('latin1'))).toBe(plain.encode(' 中国', [], [])[0]);
    for (let b = 0; b < 256; b++) expect(o200k.rankOf(String.fromCharCode(b))).toBeTypeOf('number');
  });

  it('has o200k_base ids for text (not cl100k_base ones)', () => {
    expect(mini.encode('hello world')).toEqual(bpe('hello world'));
    expect(mini.encode('hello world')).not.toEqual(tokenizerFor('phi4').encode('hello world'));
    expect(mini.encode('')).toEqual([]);
  });

  it("has Phi-4-mini's 12 added tokens, with Microsoft's ids and strip flags", () => {
    expect(Object.fromEntries(PHI4_MINI_SPECIAL_TOKENS.map((t) => [t.text, { id: t.id, rstrip: t.rstrip }]))).toEqual(ADDED);
    expect(PHI4_MINI_SPECIAL_TOKENS.every((t) => !t.lstrip)).toBe(true);
    for (const [text, { id }] of Object.entries(ADDED)) expect(mini.encode(text)).toEqual([id]);
  });

  it('renders <|role|>{content}<|end|> per message, no newlines, then <|assistant|>', () => {
    const ids = mini.encodePrompt([
      { role: 'system', content: 'hello world' },
      { role: 'user', content: 'hello world' },
      { role: 'assistant', content: 'hello world' },
    ]);
    const hw = bpe('hello world');
    expect(ids).toEqual([200022, ...hw, 200020, 200021, ...hw, 200020, 200019, ...hw, 200020, 200019]);
    expect(mini.generationPromptTokens).toBe(1);
  });

  it('drops the white space after a marker, keeps it before one, and does not strip after <|endoftext|>', () => {
    expect(mini.encode(' \n hello world')).toEqual(bpe('hello world'));
    expect(mini.encode('hello world \n')).toEqual(bpe('hello world \n'));
    expect(mini.encode('a <|end|>  b')).toEqual([...bpe('a '), 200020, ...bpe('b')]);
    expect(mini.encode('a<|endoftext|>  b')).toEqual([...bpe('a'), 199999, ...bpe('  b')]);
    expect(mini.encode('<|endofprompt|>\nx')).toEqual([200018, ...bpe('\nx')]);
    // Not added tokens: plain text, and the real token behind a false start is still found.
    expect(mini.encode('<|im_start|><|end|x')).toEqual(bpe('<|im_start|><|end|x'));
    expect(mini.encode('<|us<|user|>x')).toEqual([...bpe('<|us'), 200021, ...bpe('x')]);
  });

  it('matches the whole-prompt reference on every corpus text, in every role', () => {
    const messages: PromptMessage[] = [];
    for (const [i, content] of CORPUS.entries()) {
      messages.push({ role: ROLES[i % 3] as PromptMessage['role'], content });
      // The same text with added tokens and white space at its edges and inside.
      messages.push({ role: ROLES[(i + 1) % 3] as PromptMessage['role'], content: ` \n<|end|> ${content}\t<|tool|><|endoftext|>  ${content}  ` });
    }
    expectReferencePrompt(messages);
  });

  it('matches the reference on random conversations (fast-check, fixed seed)', () => {
    const unit = fc.constantFrom(
      'a', 'Z', 'é', '中', '😀', '7', '0', ' ', '  ', '\n', '\r\n', '\t', '\u3000', "'", "'s", "'LL", '!', '/', '.', '\ud800',
      '<|', '|>', '<|end|>', '<|user|>', '<|endoftext|>', '<|tag|>', '<|/tool_call|>', '<|im_end|>',
    );
    const run = fc.tuple(fc.constantFrom('a', 'x', 'é', '中', '!', ' ', 'ab', 'Qz', '0'), fc.integer({ min: 1, max: 150 })).map(([s, n]) => s.repeat(n));
    const blob = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b).toString('base64'));
    const content = fc
      .array(fc.oneof({ weight: 4, arbitrary: fc.string({ unit, maxLength: 20 }) }, { weight: 2, arbitrary: run }, { weight: 1, arbitrary: blob }), { maxLength: 6 })
      .map((parts) => parts.join(''));
    const message = fc.record({ role: fc.constantFrom(...ROLES), content });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), (messages) => {
        expectReferencePrompt(messages);
        for (const m of messages) expect(mini.countText(m.content)).toBe(mini.encode(m.content).length);
      }),
      { seed: 20_250_830, numRuns: 150 },
    );
  });

  it('gives js-tiktoken ids on long unspaced pieces (the heap merge, not a quadratic one)', () => {
    let seed = 7;
    const random = Buffer.from(Array.from({ length: 2_400 }, () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) & 0xff));
    for (const text of ['a'.repeat(2_500), 'qz'.repeat(1_000), '中'.repeat(1_000), '!'.repeat(1_500), 'ab'.repeat(40) + 'é'.repeat(40), random.toString('base64'), random.toString('hex')]) {
      const expected = bpe(text);
      expect(mini.encode(text)).toEqual(expected);
      expect(mini.countText(text)).toBe(expected.length);
    }
  });

  it('counts a 300,000-character unspaced text (decodes back to the text)', { timeout: 20_000 }, () => {
    const text = 'a'.repeat(300_000);
    const ids = mini.encode(text);
    expect(mini.countText(text)).toBe(ids.length);
    expect(plain.decode(ids)).toBe(text);
  });

  it('costs every role the same 2 tokens of overhead, so stored counts stay right', () => {
    expect(messageOverheadTokens(mini)).toBe(2);
    for (const role of ROLES) expect(mini.messageTokens({ role, content: '' })).toBe(2);
    for (const [i, content] of CORPUS.entries()) {
      const role = ROLES[i % 3] as PromptMessage['role'];
      expect(mini.messageTokens({ role, content })).toBe(messageOverheadTokens(mini) + contentTokens(mini, content));
      expect(contentTokens(mini, content)).toBe(mini.countText(content));
    }
  });

  it("is phi-4-mini-instruct's tokenizer, and the default model is phi-4-mini-instruct", () => {
    expect(DEFAULT_MODEL_ID).toBe('phi-4-mini-instruct');
    const spec = findModel('Phi-4-mini-instruct');
    expect(spec && [spec.tokenizer, spec.contextWindow, spec.maxOutputTokens, spec.supportsSystemMessages]).toEqual(['phi4mini', 131_072, 4_096, true]);
    expect(tokenizerFor('phi4mini')).toBe(mini);
  });
});
