import { createRequire } from 'node:module';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import type { TokenizerKind } from '../modelCatalog.js';
import type { ChatTokenizer } from './ChatTokenizer.js';
import { Cl100kTokenizer } from './Cl100kTokenizer.js';
import { Llama2Bpe } from './Llama2Bpe.js';
import { Phi3Tokenizer } from './Phi3Tokenizer.js';
import { Phi4Tokenizer } from './Phi4Tokenizer.js';
import { TiktokenBpe } from './TiktokenBpe.js';

export type { ChatTokenizer } from './ChatTokenizer.js';
export { Phi3Tokenizer, PHI3_SPECIAL_TOKENS } from './Phi3Tokenizer.js';
export { Cl100kTokenizer, PHI3_SMALL_SPECIAL_TOKENS } from './Cl100kTokenizer.js';
export { Phi4Tokenizer, PHI4_SPECIAL_TOKENS } from './Phi4Tokenizer.js';
export { Llama2Bpe } from './Llama2Bpe.js';
export { TiktokenBpe } from './TiktokenBpe.js';
export { messageOverheadTokens, contentTokens } from './messageCost.js';

const built = new Map<TokenizerKind, ChatTokenizer>();
let cl100kBpe: TiktokenBpe | undefined;

/**
 * cl100k_base, parsed once for both families that use it (a few hundred ms). Only the ranks come from
 * js-tiktoken: its own `encode` is quadratic in a piece's length (see `TiktokenBpe`). Each family splits out its
 * own special tokens.
 */
function cl100k(): TiktokenBpe {
  if (cl100kBpe === undefined) {
    // Required on first use, not imported: the ranks are a 1 MB module that Phi-3 deployments never need.
    cl100kBpe = new TiktokenBpe(createRequire(import.meta.url)('js-tiktoken/ranks/cl100k_base') as TiktokenBPE);
  }
  return cl100kBpe;
}

function build(kind: TokenizerKind): ChatTokenizer {
  switch (kind) {
    case 'phi3':
      return new Phi3Tokenizer(Llama2Bpe.fromEmbeddedData());
    case 'cl100k':
      return new Cl100kTokenizer(cl100k());
    case 'phi4':
      return new Phi4Tokenizer(cl100k());
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
