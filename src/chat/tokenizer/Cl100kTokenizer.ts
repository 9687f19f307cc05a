import type { Tiktoken } from 'js-tiktoken/lite';
import { TemplateTokenizer } from './TemplateTokenizer.js';

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
export class Cl100kTokenizer extends TemplateTokenizer {
  /** `encoding` must carry `PHI3_SMALL_SPECIAL_TOKENS`. */
  constructor(encoding: Tiktoken) {
    const text = (t: string, out: number[] | null): number => {
      if (t === '') return 0;
      const ids = encoding.encode(t, 'all');
      // A loop, not a spread: a long message would exceed the engine's argument limit.
      if (out !== null) for (const id of ids) out.push(id);
      return ids.length;
    };
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
