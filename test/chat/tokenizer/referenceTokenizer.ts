import llamaTokenizer from 'llama-tokenizer-js';
import type { PromptMessage } from '../../../src/chat/ports.js';

/**
 * The Phi-3 prompt as Hugging Face builds it, written independently of the project's tokenizer: split on the
 * added tokens with a regular expression, strip White_Space after every token but `<unk>`, `<s>` and `<|endoftext|>`, and encode
 * each segment with llama-tokenizer-js (slow, known right).
 */
const SPECIAL_IDS: Readonly<Record<string, number>> = {
  '<unk>': 0,
  '<s>': 1,
  '</s>': 2,
  '<|endoftext|>': 32000,
  '<|assistant|>': 32001,
  '<|placeholder1|>': 32002,
  '<|placeholder2|>': 32003,
  '<|placeholder3|>': 32004,
  '<|placeholder4|>': 32005,
  '<|system|>': 32006,
  '<|end|>': 32007,
  '<|placeholder5|>': 32008,
  '<|placeholder6|>': 32009,
  '<|user|>': 32010,
};
const SPLIT = /(<unk>|<s>|<\/s>|<\|(?:endoftext|assistant|placeholder[1-6]|system|end|user)\|>)/;
const NO_RSTRIP = new Set(['<unk>', '<s>', '<|endoftext|>']);
const LEADING_WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

export function referenceSegment(text: string): number[] {
  return text === '' ? [] : llamaTokenizer.encode(text, false, true);
}

export function referencePromptIds(messages: readonly PromptMessage[]): number[] {
  const rendered = messages.map((m) => `<|${m.role}|>\n${m.content}<|end|>\n`).join('') + '<|assistant|>\n';
  const parts = rendered.split(SPLIT);
  const ids: number[] = [];
  let strip = false;
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      ids.push(SPECIAL_IDS[part] as number);
      strip = !NO_RSTRIP.has(part);
      return;
    }
    ids.push(...referenceSegment(strip ? part.replace(LEADING_WHITE_SPACE, '') : part));
  });
  return ids;
}

/** Content ids as they sit inside a message: the prompt of one user message minus its two markers and the reply prompt. */
export function referenceContentIds(content: string): number[] {
  return referencePromptIds([{ role: 'user', content }]).slice(1, -2);
}
