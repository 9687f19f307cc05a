import { TemplateTokenizer } from './TemplateTokenizer.js';
import { delimitedTokenAt, encodeWithAddedTokens } from './encodeWithAddedTokens.js';
import type { TiktokenBpe } from './TiktokenBpe.js';
import type { AddedToken, AddedTokenRules } from './encodeWithAddedTokens.js';

/**
 * Phi-4-mini's added tokens (its `tokenizer_config.json` `added_tokens_decoder`), split out of any text before
 * the BPE, the `special: false` tool markers too. None has `lstrip`; everything from `<|assistant|>` up has
 * `rstrip`. `<|endoftext|>` and `<|endofprompt|>` are o200k_base's own two specials, at the same ids.
 *
 * Source: microsoft/onnxruntime-extensions `test/data/phi-4-mini/tokenizer_config.json` (Microsoft's copy of
 * microsoft/Phi-4-mini-instruct's file, chat template included).
 */
export const PHI4_MINI_SPECIAL_TOKENS: readonly AddedToken[] = [
  { text: '<|endoftext|>', id: 199_999, lstrip: false, rstrip: false },
  { text: '<|endofprompt|>', id: 200_018, lstrip: false, rstrip: false },
  { text: '<|assistant|>', id: 200_019, lstrip: false, rstrip: true },
  { text: '<|end|>', id: 200_020, lstrip: false, rstrip: true },
  { text: '<|user|>', id: 200_021, lstrip: false, rstrip: true },
  { text: '<|system|>', id: 200_022, lstrip: false, rstrip: true },
  { text: '<|tool|>', id: 200_023, lstrip: false, rstrip: true },
  { text: '<|/tool|>', id: 200_024, lstrip: false, rstrip: true },
  { text: '<|tool_call|>', id: 200_025, lstrip: false, rstrip: true },
  { text: '<|/tool_call|>', id: 200_026, lstrip: false, rstrip: true },
  { text: '<|tool_response|>', id: 200_027, lstrip: false, rstrip: true },
  { text: '<|tag|>', id: 200_028, lstrip: false, rstrip: true },
];

const ROLE_IDS = { system: 200_022, user: 200_021, assistant: 200_019 } as const;
const END_ID = 200_020;

/** Content sits after `<|role|>` (its `rstrip` takes leading white space) and before `<|end|>` (no `lstrip`). */
const RULES: AddedTokenRules = {
  marker: '<|',
  tokenAt: delimitedTokenAt(new Map(PHI4_MINI_SPECIAL_TOKENS.map((t) => [t.text, t]))),
  openRstrip: true,
  closeLstrip: false,
};

/**
 * Phi-4-mini-instruct: tiktoken o200k_base ranks and pre-tokenizer, plus Phi-4-mini's added tokens. The chat
 * template renders `<|role|>{content}<|end|>` per message, no newlines, no BOS, then `<|assistant|>`; a system
 * message has its own role marker. Every marker cuts the text, and the white space right after each is dropped,
 * so a message costs 2 + `countText(content)` whatever its neighbours, and the generation prompt 1. `encode` gives
 * content as it sits after `<|role|>`: leading white space dropped, trailing kept, added tokens split out.
 */
export class Phi4MiniTokenizer extends TemplateTokenizer {
  /** `bpe`: o200k_base (ordinary text only: its two special strings are in Phi-4-mini's set, split out here). */
  constructor(bpe: TiktokenBpe) {
    const segment = (text: string, start: number, end: number, out: number[] | null): number => bpe.encodeRange(text, start, end, out);
    super({
      text: (text, out) => encodeWithAddedTokens(text, RULES, segment, out),
      open: { system: [ROLE_IDS.system], user: [ROLE_IDS.user], assistant: [ROLE_IDS.assistant] },
      close: [END_ID],
      generationPrompt: [ROLE_IDS.assistant],
    });
  }
}
