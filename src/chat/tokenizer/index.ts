import { createRequire } from 'node:module';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import type { TokenizerKind } from '../modelCatalog.js';
import type { ChatTokenizer } from './ChatTokenizer.js';
import { Cl100kTokenizer } from './Cl100kTokenizer.js';
import { Llama2Bpe } from './Llama2Bpe.js';
import { Phi3Tokenizer } from './Phi3Tokenizer.js';
import { Phi4MiniTokenizer } from './Phi4MiniTokenizer.js';
import { Phi4Tokenizer } from './Phi4Tokenizer.js';
import { TiktokenBpe } from './TiktokenBpe.js';

export type { ChatTokenizer } from './ChatTokenizer.js';
export { Phi3Tokenizer, PHI3_SPECIAL_TOKENS } from './Phi3Tokenizer.js';
export { Cl100kTokenizer, PHI3_SMALL_SPECIAL_TOKENS } from './Cl100kTokenizer.js';
export { Phi4Tokenizer, PHI4_SPECIAL_TOKENS } from './Phi4Tokenizer.js';
export { Phi4MiniTokenizer, PHI4_MINI_SPECIAL_TOKENS } from './Phi4MiniTokenizer.js';
export { Llama2Bpe } from './Llama2Bpe.js';
export { TiktokenBpe } from './TiktokenBpe.js';
export { messageOverheadTokens, contentTokens } from './messageCost.js';

const built = new Map<TokenizerKind, ChatTokenizer>();
type TiktokenRanks = 'cl100k_base' | 'o200k_base';
const bpes = new Map<TiktokenRanks, TiktokenBpe>();

/**
 * A tiktoken encoding, parsed once for every family that uses it (a few hundred ms). Only the ranks and the
 * pre-tokenizer pattern come from js-tiktoken: its own `encode` is quadratic in a piece's length (see
 * `TiktokenBpe`). Each family splits out its own special tokens.
 */
function tiktoken(name: TiktokenRanks): TiktokenBpe {
  let bpe = bpes.get(name);
  if (bpe === undefined) {
    // Required on first use, not imported: the ranks are 1–2 MB modules that a deployment of another family never needs.
    bpe = new TiktokenBpe(createRequire(import.meta.url)(`js-tiktoken/ranks/${name}`) as TiktokenBPE);
    bpes.set(name, bpe);
  }
  return bpe;
}

function build(kind: TokenizerKind): ChatTokenizer {
  switch (kind) {
    case 'phi3':
      return new Phi3Tokenizer(Llama2Bpe.fromEmbeddedData());
    case 'cl100k':
      return new Cl100kTokenizer(tiktoken('cl100k_base'));
    case 'phi4':
      return new Phi4Tokenizer(tiktoken('cl100k_base'));
    case 'phi4mini':
      return new Phi4MiniTokenizer(tiktoken('o200k_base'));
  }
}

/**
 * The tokenizer of a model family, built on first use and kept for the life of the process (building Phi-3's
 * tables takes tens of milliseconds; importing this module builds nothing).
 */
export function tokenizerFor(kind: TokenizerKind): ChatTokenizer {
  let tokenizer = built.get(kind);
  if (tokenizer === undefined) {
    tokenizer = build(kind);
    built.set(kind, tokenizer);
  }
  return tokenizer;
}
