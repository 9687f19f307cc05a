import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { contentTokens, messageOverheadTokens, tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { CORPUS } from './corpus.js';
import { referenceContentIds, referencePromptIds, referenceSegment } from './referenceTokenizer.js';

const phi3 = tokenizerFor('phi3');

describe('Phi-3 tokenizer', () => {
  it('gives the seed example its 19 ids', () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'How many languages are in the world?' },
    ];
    const expected = [32006, 887, 526, 263, 8444, 20255, 29889, 32007, 32010, 1128, 1784, 10276, 526, 297, 278, 3186, 29973, 32007, 32001];
    expect(phi3.encodePrompt(messages)).toEqual(expected);
    expect(phi3.countPrompt(messages)).toBe(19);
  });

  it('counts "123 apples" as 6 tokens (dummy prefix, digits split)', () => {
    expect(phi3.encode('123 apples')).toEqual([29871, 29896, 29906, 29941, 623, 793]);
    expect(phi3.countText('123 apples')).toBe(6);
  });

  it('is built once per process', () => {
    expect(tokenizerFor('phi3')).toBe(phi3);
  });

  it.each(CORPUS.map((text, i) => [i, text] as const))('content #%i has the reference ids', (_i, text) => {
    expect(phi3.encode(text)).toEqual(referenceContentIds(text));
    expect(phi3.countText(text)).toBe(referenceContentIds(text).length);
  });

  it('encodes the whole corpus, as one text, like the reference', () => {
    const text = CORPUS.filter((t) => !/<(\||s>|\/s>|unk>)/.test(t)).join(' ');
    expect(phi3.encode(text)).toEqual(referenceSegment(text.trimStart()));
  });

  it('builds prompts like the reference, for every role, with counts that add up', () => {
    const roles = ['system', 'user', 'assistant'] as const;
    const messages: PromptMessage[] = CORPUS.map((content, i) => ({ role: roles[i % 3] as PromptMessage['role'], content }));
    const ids = phi3.encodePrompt(messages);
    expect(ids).toEqual(referencePromptIds(messages));
    expect(phi3.countPrompt(messages)).toBe(ids.length);
    const sum = messages.reduce((s, m) => s + phi3.messageTokens(m), 0);
    expect(sum + phi3.generationPromptTokens).toBe(ids.length);
    expect(phi3.generationPromptTokens).toBe(1);
  });

  it('stores content counts that add up to message costs', () => {
    expect(messageOverheadTokens(phi3)).toBe(2);
    for (const content of CORPUS) {
      expect(contentTokens(phi3, content)).toBe(phi3.countText(content));
      expect(phi3.messageTokens({ role: 'assistant', content })).toBe(2 + contentTokens(phi3, content));
    }
  });

  it('strips the whitespace after every special token but <|endoftext|>', () => {
    expect(phi3.encode('a<|end|>   \n\tb')).toEqual([...referenceSegment('a'), 32007, ...referenceSegment('b')]);
    expect(phi3.encode('a<|endoftext|>  b')).toEqual([...referenceSegment('a'), 32000, ...referenceSegment('  b')]);
    expect(phi3.encode(' \n\u3000 ')).toEqual([]);
  });

  it("splits out Llama's added tokens too: <unk> and <s> keep the whitespace after them, </s> strips it", () => {
    expect(phi3.encode('a<s> b</s> c<unk> d')).toEqual([
      ...referenceSegment('a'), 1, ...referenceSegment(' b'), 2, ...referenceSegment('c'), 0, ...referenceSegment(' d'),
    ]);
  });

  it('matches the reference on random strings', () => {
    const pieces = fc.constantFrom(' ', '  ', '\n', '\t', '▁', 'the', 'ing', 'er', 'a', 'Z', '0', '42', '中', '文', '😀', 'é', '\u0301', '<|end|>', '<|', '|>', '<s>', '</s>', '<', '.', ',', 'ab');
    const texts = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.array(pieces, { maxLength: 80 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(texts, (text) => {
        expect(phi3.encode(text)).toEqual(referenceContentIds(text));
      }),
      { seed: 20240501, numRuns: 600 },
    );
  });

  it('gives long chunks (heap path) the reference ids', () => {
    const text = 'Ünïcödé'.repeat(40) + '中文分词'.repeat(50) + '0123456789'.repeat(20) + '\u2581'.repeat(70) + 'x';
    expect(phi3.encode(text)).toEqual(referenceSegment(text));
  });
});
