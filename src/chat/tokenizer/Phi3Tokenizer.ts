import type { Llama2Bpe } from './Llama2Bpe.js';
import { TemplateTokenizer } from './TemplateTokenizer.js';
import { encodeWithAddedTokens } from './encodeWithAddedTokens.js';
import type { AddedToken, AddedTokenRules } from './encodeWithAddedTokens.js';

/**
 * Phi-3's added tokens (its tokenizer_config.json `added_tokens_decoder`), recognised in any text: Hugging Face
 * splits every added token out before the model's BPE, Llama's `<unk>`, `<s>` and `</s>` included. None has `lstrip`;
 * the role markers and `<|end|>` have `rstrip`.
 */
export const PHI3_SPECIAL_TOKENS: readonly AddedToken[] = [
  { text: '<unk>', id: 0, lstrip: false, rstrip: false },
  { text: '<s>', id: 1, lstrip: false, rstrip: false },
  { text: '</s>', id: 2, lstrip: false, rstrip: true },
  { text: '<|endoftext|>', id: 32_000, lstrip: false, rstrip: false },
  { text: '<|assistant|>', id: 32_001, lstrip: false, rstrip: true },
  { text: '<|placeholder1|>', id: 32_002, lstrip: false, rstrip: true },
  { text: '<|placeholder2|>', id: 32_003, lstrip: false, rstrip: true },
  { text: '<|placeholder3|>', id: 32_004, lstrip: false, rstrip: true },
  { text: '<|placeholder4|>', id: 32_005, lstrip: false, rstrip: true },
  { text: '<|system|>', id: 32_006, lstrip: false, rstrip: true },
  { text: '<|end|>', id: 32_007, lstrip: false, rstrip: true },
  { text: '<|placeholder5|>', id: 32_008, lstrip: false, rstrip: true },
  { text: '<|placeholder6|>', id: 32_009, lstrip: false, rstrip: true },
  { text: '<|user|>', id: 32_010, lstrip: false, rstrip: true },
];

const ROLE_IDS = { system: 32_006, user: 32_010, assistant: 32_001 } as const;
const END_ID = 32_007;
const ASSISTANT_ID = 32_001;

function tokenAt(text: string, at: number): AddedToken | undefined {
  // No added token is a prefix of another, so the first that matches is the only one.
  for (const token of PHI3_SPECIAL_TOKENS) if (text.startsWith(token.text, at)) return token;
  return undefined;
}

/** Content sits after `<|role|>\n` (the role marker's `rstrip` takes the newline and any leading white space). */
const RULES: AddedTokenRules = { marker: '<', tokenAt, openRstrip: true, closeLstrip: false };

/**
 * Phi-3 mini/medium and Phi-3.5 mini/MoE: Llama-2 SentencePiece plus Phi-3's added tokens. A prompt is
 * `<|role|>\n{content}<|end|>\n` per message then `<|assistant|>\n`, no BOS. The role markers and `<|end|>`
 * strip the whitespace to their right, so a message costs 2 + `countText(content)` whatever its
 * neighbours, and the generation prompt 1. Each text segment between special tokens gets the dummy prefix.
 * `encode` gives content as it sits after `<|role|>\n`: leading whitespace stripped, special tokens split out.
 */
export class Phi3Tokenizer extends TemplateTokenizer {
  constructor(bpe: Llama2Bpe) {
    const segment = (text: string, start: number, end: number, out: number[] | null): number => {
      const piece = start === 0 && end === text.length ? text : text.slice(start, end);
      if (out === null) return bpe.count(piece);
      const before = out.length;
      bpe.encodeInto(piece, out);
      return out.length - before;
    };
    super({
      text: (text, out) => encodeWithAddedTokens(text, RULES, segment, out),
      open: { system: [ROLE_IDS.system], user: [ROLE_IDS.user], assistant: [ROLE_IDS.assistant] },
      close: [END_ID],
      generationPrompt: [ASSISTANT_ID],
    });
  }
}
