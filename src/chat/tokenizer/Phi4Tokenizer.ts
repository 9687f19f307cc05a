import { TemplateTokenizer } from './TemplateTokenizer.js';
import { delimitedTokenAt, encodeWithAddedTokens } from './encodeWithAddedTokens.js';
import type { TiktokenBpe } from './TiktokenBpe.js';
import type { AddedToken, AddedTokenRules } from './encodeWithAddedTokens.js';

const IM_START_ID = 100_264;
const IM_END_ID = 100_265;
const IM_SEP_ID = 100_266;
/** The role names are plain text between `<|im_start|>` and `<|im_sep|>`; each is one cl100k_base token. */
const ROLE_IDS = { system: 9_125, user: 882, assistant: 78_191 } as const;

/** Phi-4 pads cl100k_base's 100,256 ranks to a 100,352-entry vocabulary: every id from here up is special. */
const FIRST_SPECIAL_ID = 100_256;
const VOCABULARY_SIZE = 100_352;

const NAMED_SPECIAL_TOKENS: Readonly<Record<string, number>> = {
  '<|endoftext|>': 100_257,
  '<|fim_prefix|>': 100_258,
  '<|fim_middle|>': 100_259,
  '<|fim_suffix|>': 100_260,
  '<|im_start|>': IM_START_ID,
  '<|im_end|>': IM_END_ID,
  '<|im_sep|>': IM_SEP_ID,
  '<|endofprompt|>': 100_276,
};

function phi4SpecialTokens(): ReadonlyMap<string, number> {
  const named = new Set(Object.values(NAMED_SPECIAL_TOKENS));
  const tokens = new Map(Object.entries(NAMED_SPECIAL_TOKENS));
  // The unused ids are `<|dummy_N|>`, numbered in id order (so `<|dummy_85|>`, the pad token, is 100349).
  let dummy = 0;
  for (let id = FIRST_SPECIAL_ID; id < VOCABULARY_SIZE; id++) if (!named.has(id)) tokens.set(`<|dummy_${dummy++}|>`, id);
  return tokens;
}

/**
 * Phi-4's added tokens, ids 100256–100351, all `special`, all with `lstrip` and `rstrip`.
 *
 * Sources: the ids as in pytorch/torchtune `torchtune/models/phi4/_tokenizer.py` (`PHI4_SPECIAL_TOKENS`) and
 * dotnet/machinelearning `src/Microsoft.ML.Tokenizers/Model/TiktokenTokenizer.cs` (Phi-4 = cl100k_base plus
 * `<|im_start|>` 100264, `<|im_end|>` 100265, `<|im_sep|>` 100266, `<|dummy_85|>` 100349); vocabulary size
 * 100,352 from microsoft/phi-4 `config.json`. The `lstrip`/`rstrip` flags are those of the tokenizer as
 * re-saved from microsoft/phi-4 (e.g. stelterlab/phi-4-AWQ `special_tokens_map.json`); microsoft/phi-4's own
 * `tokenizer.json` was not available to check.
 */
export const PHI4_SPECIAL_TOKENS: ReadonlyMap<string, number> = phi4SpecialTokens();

/** The same tokens with their strip flags, by text. */
const ADDED_TOKENS: ReadonlyMap<string, AddedToken> = new Map(
  [...PHI4_SPECIAL_TOKENS].map(([text, id]) => [text, { text, id, lstrip: true, rstrip: true }]),
);

/** Content sits between `<|im_sep|>` (its `rstrip`) and `<|im_end|>` (its `lstrip`): trimmed on both sides. */
const RULES: AddedTokenRules = { marker: '<|', tokenAt: delimitedTokenAt(ADDED_TOKENS), openRstrip: true, closeLstrip: true };

/**
 * Phi-4 (14B): tiktoken cl100k_base ranks and pre-tokenizer, plus Phi-4's added tokens. The chat template
 * (microsoft/phi-4 `tokenizer_config.json`, also in ggml-org/llama.cpp `tests/test-chat-template.cpp`) renders
 * `<|im_start|>{role}<|im_sep|>{content}<|im_end|>` per message, no newlines, no BOS, then
 * `<|im_start|>assistant<|im_sep|>`; `role: "system"` has its own branch.
 *
 * Hugging Face splits the added tokens out of the rendered text first (in message content too) and, because
 * every one has `lstrip` and `rstrip`, the white space on both sides of each belongs to the token: a message's
 * leading and trailing white space is not tokenized. So a message costs 4 + `countText(content)` whatever its
 * neighbours and whatever its role (each role name is one token), and the generation prompt 3. `encode` gives
 * content as it sits between `<|im_sep|>` and `<|im_end|>`: trimmed, added tokens split out.
 */
export class Phi4Tokenizer extends TemplateTokenizer {
  /** `bpe`: cl100k_base (ordinary text only: cl100k_base's own special strings are in Phi-4's set, split out here). */
  constructor(bpe: TiktokenBpe) {
    const segment = (text: string, start: number, end: number, out: number[] | null): number => bpe.encodeRange(text, start, end, out);
    super({
      text: (text, out) => encodeWithAddedTokens(text, RULES, segment, out),
      open: {
        system: [IM_START_ID, ROLE_IDS.system, IM_SEP_ID],
        user: [IM_START_ID, ROLE_IDS.user, IM_SEP_ID],
        assistant: [IM_START_ID, ROLE_IDS.assistant, IM_SEP_ID],
      },
      close: [IM_END_ID],
      generationPrompt: [IM_START_ID, ROLE_IDS.assistant, IM_SEP_ID],
    });
  }
}
