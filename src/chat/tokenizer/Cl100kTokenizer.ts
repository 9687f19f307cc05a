import { TemplateTokenizer } from './TemplateTokenizer.js';
import type { TiktokenBpe } from './TiktokenBpe.js';
import { delimitedTokenAt, encodeWithAddedTokens } from './encodeWithAddedTokens.js';
import type { AddedToken, AddedTokenRules } from './encodeWithAddedTokens.js';

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

/**
 * js-tiktoken's `encode(text, 'all')`: every special token cuts the text where it occurs, leftmost first, and
 * nothing around it is stripped. A regular expression of the alternatives finds the same tokens as this lookup
 * because no token has `|>` before its end (so at most one can start at a given `<|`).
 */
const RULES: AddedTokenRules = {
  marker: '<|',
  tokenAt: delimitedTokenAt(
    new Map(Object.entries(PHI3_SMALL_SPECIAL_TOKENS).map(([text, id]): [string, AddedToken] => [text, { text, id, lstrip: false, rstrip: false }])),
  ),
  openRstrip: false,
  closeLstrip: false,
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
export class Cl100kTokenizer extends TemplateTokenizer {
  /** `bpe`: cl100k_base; Phi-3-small's special tokens (cl100k_base's own among them) are split out here. */
  constructor(bpe: TiktokenBpe) {
    const segment = (text: string, start: number, end: number, out: number[] | null): number => bpe.encodeRange(text, start, end, out);
    const text = (t: string, out: number[] | null): number => encodeWithAddedTokens(t, RULES, segment, out);
    super({
      text,
      // The `\n` after the role marker is plain text: a content that starts with white space (`\n\n`) merges with it.
      content: (t, out) => text('\n' + t, out),
      open: { system: [ROLE_IDS.system], user: [ROLE_IDS.user], assistant: [ROLE_IDS.assistant] },
      close: [END_ID, NEWLINE_ID],
      bos: [BOS_ID],
      generationPrompt: [ROLE_IDS.assistant, NEWLINE_ID],
    });
  }
}
