import type { PromptMessage } from '../ports.js';
import type { ChatTokenizer } from './ChatTokenizer.js';
import type { Llama2Bpe } from './Llama2Bpe.js';
import { skipWhiteSpace } from './whiteSpace.js';

interface SpecialToken {
  readonly text: string;
  readonly id: number;
  /** Hugging Face `rstrip`: the whitespace to the token's right belongs to the token. */
  readonly rstrip: boolean;
}

/**
 * Phi-3's added tokens (its tokenizer_config.json `added_tokens_decoder`), recognised in any text: Hugging Face
 * splits every added token out before the model's BPE, Llama's `<unk>`, `<s>` and `</s>` included.
 */
export const PHI3_SPECIAL_TOKENS: readonly SpecialToken[] = [
  { text: '<unk>', id: 0, rstrip: false },
  { text: '<s>', id: 1, rstrip: false },
  { text: '</s>', id: 2, rstrip: true },
  { text: '<|endoftext|>', id: 32_000, rstrip: false },
  { text: '<|assistant|>', id: 32_001, rstrip: true },
  { text: '<|placeholder1|>', id: 32_002, rstrip: true },
  { text: '<|placeholder2|>', id: 32_003, rstrip: true },
  { text: '<|placeholder3|>', id: 32_004, rstrip: true },
  { text: '<|placeholder4|>', id: 32_005, rstrip: true },
  { text: '<|system|>', id: 32_006, rstrip: true },
  { text: '<|end|>', id: 32_007, rstrip: true },
  { text: '<|placeholder5|>', id: 32_008, rstrip: true },
  { text: '<|placeholder6|>', id: 32_009, rstrip: true },
  { text: '<|user|>', id: 32_010, rstrip: true },
];

const ROLE_IDS = { system: 32_006, user: 32_010, assistant: 32_001 } as const;
const END_ID = 32_007;
const ASSISTANT_ID = 32_001;

function specialAt(text: string, at: number): SpecialToken | undefined {
  // No added token is a prefix of another, so the first that matches is the only one.
  for (const token of PHI3_SPECIAL_TOKENS) if (text.startsWith(token.text, at)) return token;
  return undefined;
}

/**
 * Phi-3 mini/medium and Phi-3.5 mini/MoE: Llama-2 SentencePiece plus Phi-3's added tokens. A prompt is
 * `<|role|>\n{content}<|end|>\n` per message then `<|assistant|>\n`, no BOS. The role markers and `<|end|>`
 * strip the whitespace to their right, so a message costs 2 + `countText(content)` whatever its
 * neighbours, and the generation prompt 1. Each text segment between special tokens gets the dummy prefix.
 */
export class Phi3Tokenizer implements ChatTokenizer {
  readonly generationPromptTokens = 1;
  readonly #bpe: Llama2Bpe;

  constructor(bpe: Llama2Bpe) {
    this.#bpe = bpe;
  }

  /** Ids of message content as it sits after `<|role|>\n`: leading whitespace stripped, special tokens split out. */
  encode(text: string): number[] {
    const out: number[] = [];
    this.#content(text, out);
    return out;
  }

  countText(text: string): number {
    return this.#content(text, null);
  }

  messageTokens(message: PromptMessage): number {
    return 2 + this.#content(message.content, null);
  }

  encodePrompt(messages: readonly PromptMessage[]): number[] {
    const out: number[] = [];
    for (const m of messages) {
      out.push(ROLE_IDS[m.role]);
      this.#content(m.content, out);
      out.push(END_ID);
    }
    out.push(ASSISTANT_ID);
    return out;
  }

  countPrompt(messages: readonly PromptMessage[]): number {
    let total = this.generationPromptTokens;
    for (const m of messages) total += this.messageTokens(m);
    return total;
  }

  /** Appends the content's ids to `out` when given; returns how many ids the content has either way. */
  #content(text: string, out: number[] | null): number {
    let total = 0;
    let segmentStart = skipWhiteSpace(text, 0);
    let searchFrom = segmentStart;
    for (;;) {
      const at = text.indexOf('<', searchFrom);
      if (at < 0) break;
      const token = specialAt(text, at);
      if (token === undefined) {
        searchFrom = at + 1;
        continue;
      }
      total += this.#segment(text.slice(segmentStart, at), out) + 1;
      out?.push(token.id);
      segmentStart = at + token.text.length;
      if (token.rstrip) segmentStart = skipWhiteSpace(text, segmentStart);
      searchFrom = segmentStart;
    }
    return total + this.#segment(segmentStart === 0 ? text : text.slice(segmentStart), out);
  }

  #segment(segment: string, out: number[] | null): number {
    if (out === null) return this.#bpe.count(segment);
    const before = out.length;
    this.#bpe.encodeInto(segment, out);
    return out.length - before;
  }
}
