import { skipWhiteSpace, trimWhiteSpaceEnd } from './whiteSpace.js';

/** A Hugging Face added token: split out of any text before the model's own tokenizer runs. */
export interface AddedToken {
  readonly text: string;
  readonly id: number;
  /** `lstrip`: the white space to the token's left belongs to the token. */
  readonly lstrip: boolean;
  /** `rstrip`: the white space to the token's right belongs to the token. */
  readonly rstrip: boolean;
}

/** A family's added tokens and the strip flags of the template tokens around a message's content. */
export interface AddedTokenRules {
  /** What every added token starts with: candidates are found with `indexOf`. */
  readonly marker: string;
  /** The added token that starts at `at` (where the text has `marker`), or undefined. */
  readonly tokenAt: (text: string, at: number) => AddedToken | undefined;
  /** The token in front of the content (the role marker) has `rstrip`: leading white space is not tokenized. */
  readonly openRstrip: boolean;
  /** The token behind the content (the end marker) has `lstrip`: trailing white space is not tokenized. */
  readonly closeLstrip: boolean;
}

/** The model's own tokenizer on a non-empty `text.slice(start, end)`: ids appended to `out` when given, counted either way. */
export type SegmentEncoder = (text: string, start: number, end: number, out: number[] | null) => number;

/**
 * Message content as Hugging Face tokenizes it: added tokens split out (each one id), the white space their
 * `lstrip`/`rstrip` absorb dropped (`lstrip` reaches back no further than the end of the previous token), and
 * each text segment between them given to `segment`. Appends to `out` when given; returns the count either way.
 */
export function encodeWithAddedTokens(text: string, rules: AddedTokenRules, segment: SegmentEncoder, out: number[] | null): number {
  let total = 0;
  let segmentStart = rules.openRstrip ? skipWhiteSpace(text, 0) : 0;
  let searchFrom = segmentStart;
  for (;;) {
    const at = text.indexOf(rules.marker, searchFrom);
    if (at < 0) break;
    const token = rules.tokenAt(text, at);
    if (token === undefined) {
      searchFrom = at + 1;
      continue;
    }
    const segmentEnd = token.lstrip ? trimWhiteSpaceEnd(text, segmentStart, at) : at;
    if (segmentStart < segmentEnd) total += segment(text, segmentStart, segmentEnd, out);
    total += 1;
    out?.push(token.id);
    segmentStart = at + token.text.length;
    if (token.rstrip) segmentStart = skipWhiteSpace(text, segmentStart);
    searchFrom = segmentStart;
  }
  const end = rules.closeLstrip ? trimWhiteSpaceEnd(text, segmentStart, text.length) : text.length;
  return segmentStart < end ? total + segment(text, segmentStart, end, out) : total;
}

/**
 * `AddedTokenRules.tokenAt` for tokens written `<|…|>` with no `|>` before their end: the first `|>` after
 * `<|` then decides the only candidate, so a lookup is one slice and one map access.
 */
export function delimitedTokenAt(tokens: ReadonlyMap<string, AddedToken>): AddedTokenRules['tokenAt'] {
  // The longest token bounds the search for its closing `|>`.
  const maxLength = Math.max(...[...tokens.keys()].map((t) => t.length));
  return (text, at) => {
    const limit = Math.min(text.length, at + maxLength);
    for (let i = at + 2; i + 1 < limit; i++) {
      if (text.charCodeAt(i) === 0x7c && text.charCodeAt(i + 1) === 0x3e) return tokens.get(text.slice(at, i + 2));
    }
    return undefined;
  };
}
