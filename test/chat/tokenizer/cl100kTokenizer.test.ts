import { describe, expect, it } from 'vitest';
import type { PromptMessage } from '../../../src/chat/ports.js';
import { contentTokens, messageOverheadTokens, tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { CORPUS } from './corpus.js';

const cl100k = tokenizerFor('cl100k');

describe('Phi-3-small (cl100k) tokenizer', () => {
  it('has the known cl100k_base ids', () => {
    expect(cl100k.encode('hello world')).toEqual([15339, 1917]);
    expect(cl100k.encode('Hello, world!')).toEqual([9906, 11, 1917, 0]);
    expect(cl100k.encode('\n')).toEqual([198]);
    expect(cl100k.encode('')).toEqual([]);
  });

  it('recognises Phi-3-small special tokens in text', () => {
    expect(cl100k.encode('<|user|><|end|><|endoftext|>')).toEqual([100262, 100266, 100257]);
  });

  it('renders the template: BOS, <|role|>\\n{content}<|end|>\\n per message, <|assistant|>\\n', () => {
    const messages: PromptMessage[] = [
      { role: 'system', content: 'hello world' },
      { role: 'user', content: 'hello world' },
    ];
    const ids = cl100k.encodePrompt(messages);
    expect(ids).toEqual([100257, 100261, 198, 15339, 1917, 100266, 198, 100262, 198, 15339, 1917, 100266, 198, 100263, 198]);
    expect(cl100k.countPrompt(messages)).toBe(ids.length);
  });

  it('has counts that add up for every role and content', () => {
    const roles = ['system', 'user', 'assistant'] as const;
    const messages: PromptMessage[] = CORPUS.map((content, i) => ({ role: roles[i % 3] as PromptMessage['role'], content }));
    const ids = cl100k.encodePrompt(messages);
    const sum = messages.reduce((s, m) => s + cl100k.messageTokens(m), 0);
    expect(sum + cl100k.generationPromptTokens).toBe(ids.length);
    expect(cl100k.countPrompt(messages)).toBe(ids.length);
    for (const m of messages) {
      expect(cl100k.messageTokens(m)).toBe(messageOverheadTokens(cl100k) + contentTokens(cl100k, m.content));
    }
  });

  it('is built once per process', () => {
    expect(tokenizerFor('cl100k')).toBe(cl100k);
  });
});
