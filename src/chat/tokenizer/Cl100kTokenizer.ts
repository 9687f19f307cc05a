import type { Tiktoken } from 'js-tiktoken/lite';
import type { PromptMessage } from '../ports.js';
import type { ChatTokenizer } from './ChatTokenizer.js';

/**
 * Phi-3-small's special tokens on top of cl100k_base (its `tokenization_phi3_small.py`); the unused
 * `<|dummy_id_N|>` fillers are left out.
 */
export const PHI3_SMALL_SPECIAL_TOKENS: Readonly<Record<string, number>> = {
  '<|endoftext|>': 100_257,
  '<|fim_prefix|>': 100_258,
  '<|fim_middle|>': 100_259,
  '<|fim_suffix|>': 100_260,
  '<|system|>': 100_261,
  '<|user|>': 100_262,
  '<|assistant|>': 100_263,
  '<|end|>': 100_266,
  '<|endofprompt|>': 100_276,
};

const BOS_ID = 100_257;
const ROLE_IDS = { system: 100_261, user: 100_262, assistant: 100_263 } as const;
const END_ID = 100_266;
const NEWLINE_ID = 198;

/**
 * Phi-3-small: tiktoken cl100k_base, template `<|endoftext|>` then `<|role|>\n{content}<|end|>\n` per message
 * then `<|assistant|>\n`, the whole text encoded with every special token allowed and nothing stripped. Special
 * tokens cut the text, so a message costs 3 + the tokens of `"\n" + content` whatever its neighbours; BOS and the
 * generation prompt make `generationPromptTokens` 3.
 */
export class Cl100kTokenizer implements ChatTokenizer {
  readonly generationPromptTokens = 3;
  readonly #encoding: Tiktoken;

  /** `encoding` must carry `PHI3_SMALL_SPECIAL_TOKENS`. */
  constructor(encoding: Tiktoken) {
    this.#encoding = encoding;
  }

  encode(text: string): number[] {
    return text === '' ? [] : this.#encoding.encode(text, 'all');
  }

  countText(text: string): number {
    return this.encode(text).length;
  }

  messageTokens(message: PromptMessage): number {
    return 3 + this.encode('\n' + message.content).length;
  }

  encodePrompt(messages: readonly PromptMessage[]): number[] {
    const out: number[] = [BOS_ID];
    for (const m of messages) {
      out.push(ROLE_IDS[m.role]);
      // A loop, not a spread: a long message would exceed the engine's argument limit.
      for (const id of this.encode('\n' + m.content)) out.push(id);
      out.push(END_ID, NEWLINE_ID);
    }
    out.push(ROLE_IDS.assistant, NEWLINE_ID);
    return out;
  }

  countPrompt(messages: readonly PromptMessage[]): number {
    let total = this.generationPromptTokens;
    for (const m of messages) total += this.messageTokens(m);
    return total;
  }
}
