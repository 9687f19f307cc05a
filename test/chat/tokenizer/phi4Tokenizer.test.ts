import { createRequire } from 'node:module';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { PHI4_SPECIAL_TOKENS, contentTokens, messageOverheadTokens, tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { CORPUS } from './corpus.js';

const phi4 = tokenizerFor('phi4');

// A second cl100k_base, for the reference below: plain BPE, no special tokens at all.
const plain = new Tiktoken(createRequire(import.meta.url)('js-tiktoken/ranks/cl100k_base') as TiktokenBPE);
const bpe = (text: string): number[] => (text === '' ? [] : plain.encode(text, [], []));

const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const escape = (s: string): string => s.replace(/[|]/g, '\\|');
/** Every added token with the white space around it, as one regular expression over the whole prompt. */
const SPLIT = new RegExp(`[${WS}]*(${[...PHI4_SPECIAL_TOKENS.keys()].map(escape).join('|')})[${WS}]*`, 'gu');

/**
 * Hugging Face's reading of the rendered prompt, written another way: render the template to one string, cut it
 * at every added token together with the white space on both sides (lstrip + rstrip), BPE the pieces between.
 */
function referencePrompt(messages: readonly PromptMessage[]): number[] {
  const rendered = messages.map((m) => `<|im_start|>${m.role}<|im_sep|>${m.content}<|im_end|>`).join('') + '<|im_start|>assistant<|im_sep|>';
  const ids: number[] = [];
  let last = 0;
  for (const match of rendered.matchAll(SPLIT)) {
    ids.push(...bpe(rendered.slice(last, match.index)), PHI4_SPECIAL_TOKENS.get(match[1] as string) as number);
    last = match.index + match[0].length;
  }
  ids.push(...bpe(rendered.slice(last)));
  return ids;
}

const ROLES = ['system', 'user', 'assistant'] as const;

describe('Phi-4 tokenizer', () => {
  it('has cl100k_base ids for text', () => {
    expect(phi4.encode('hello world')).toEqual([15339, 1917]);
    expect(phi4.encode('Hello, world!')).toEqual([9906, 11, 1917, 0]);
    expect(phi4.encode('')).toEqual([]);
  });

  it("has Phi-4's 96 added tokens, ids 100256–100351", () => {
    expect(PHI4_SPECIAL_TOKENS.size).toBe(96);
    expect([...PHI4_SPECIAL_TOKENS.values()].sort((a, b) => a - b)).toEqual(Array.from({ length: 96 }, (_, i) => 100_256 + i));
    expect(PHI4_SPECIAL_TOKENS.get('<|endoftext|>')).toBe(100_257);
    expect(PHI4_SPECIAL_TOKENS.get('<|im_start|>')).toBe(100_264);
    expect(PHI4_SPECIAL_TOKENS.get('<|im_end|>')).toBe(100_265);
    expect(PHI4_SPECIAL_TOKENS.get('<|im_sep|>')).toBe(100_266);
    expect(PHI4_SPECIAL_TOKENS.get('<|endofprompt|>')).toBe(100_276);
    expect(PHI4_SPECIAL_TOKENS.get('<|dummy_0|>')).toBe(100_256);
    expect(PHI4_SPECIAL_TOKENS.get('<|dummy_85|>')).toBe(100_349);
    expect(PHI4_SPECIAL_TOKENS.get('<|dummy_87|>')).toBe(100_351);
  });

  it('renders <|im_start|>{role}<|im_sep|>{content}<|im_end|> per message, then <|im_start|>assistant<|im_sep|>', () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'hello world' },
      { role: 'user', content: 'hello world' },
    ];
    const ids = phi4.encodePrompt(messages);
    expect(ids).toEqual([100264, 9125, 100266, 15339, 1917, 100265, 100264, 882, 100266, 15339, 1917, 100265, 100264, 78191, 100266]);
    expect(phi4.countPrompt(messages)).toBe(ids.length);
    expect(phi4.generationPromptTokens).toBe(3);
  });

  it('splits added tokens out of content and drops the white space on both sides of each', () => {
    expect(phi4.encode(' \n hello world \t\u3000')).toEqual([15339, 1917]);
    expect(phi4.encode('hello  <|im_end|>\n\n world')).toEqual([15339, 100265, 14957]); // 'world', not ' world' (1917)
    expect(phi4.encode('<|dummy_85|><|endoftext|>')).toEqual([100349, 100257]);
    // Not added tokens: plain text, and the real token behind a false start is still found.
    expect(phi4.encode('<|im_ending|>')).toEqual(bpe('<|im_ending|>'));
    expect(phi4.encode('<|im_<|im_sep|>x')).toEqual([...bpe('<|im_'), 100266, ...bpe('x')]);
    // White space inside a segment stays; U+FEFF is not white space for Hugging Face.
    expect(phi4.encode('a  b')).toEqual(bpe('a  b'));
    expect(phi4.encode('\ufeffa')).toEqual(bpe('\ufeffa'));
  });

  it('matches the whole-prompt reference on every corpus text, in every role', () => {
    const messages: PromptMessage[] = [];
    for (const [i, content] of CORPUS.entries()) {
      messages.push({ role: ROLES[i % 3] as PromptMessage['role'], content });
      // The same text with added tokens and white space at its edges and inside.
      messages.push({ role: ROLES[(i + 1) % 3] as PromptMessage['role'], content: ` \n<|im_end|> ${content}\t<|im_start|>user<|im_sep|>  ${content}  ` });
    }
    const ids = phi4.encodePrompt(messages);
    expect(ids).toEqual(referencePrompt(messages));
    expect(phi4.countPrompt(messages)).toBe(ids.length);
    const sum = messages.reduce((s, m) => s + phi4.messageTokens(m), 0);
    expect(sum + phi4.generationPromptTokens).toBe(ids.length);
  });

  it('costs every role the same 4 tokens of overhead, so stored counts stay right', () => {
    expect(messageOverheadTokens(phi4)).toBe(4);
    for (const role of ROLES) expect(phi4.messageTokens({ role, content: '' })).toBe(4);
    for (const [i, content] of CORPUS.entries()) {
      const role = ROLES[i % 3] as PromptMessage['role'];
      expect(phi4.messageTokens({ role, content })).toBe(messageOverheadTokens(phi4) + contentTokens(phi4, content));
      expect(contentTokens(phi4, content)).toBe(phi4.countText(content));
    }
  });

  it('is built once per process, and is not the Phi-3-small tokenizer', () => {
    expect(tokenizerFor('phi4')).toBe(phi4);
    expect(tokenizerFor('cl100k')).not.toBe(phi4);
    expect(tokenizerFor('cl100k').encode('<|im_end|>')).not.toEqual([100265]);
  });
});
