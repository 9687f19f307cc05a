import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { describe, expect, it } from 'vitest';
import { PHI3_SMALL_SPECIAL_TOKENS, TiktokenBpe, tokenizerFor } from '../../../src/chat/tokenizer/index.js';
import { CORPUS } from './corpus.js';

const ranks = createRequire(import.meta.url)('js-tiktoken/ranks/cl100k_base') as TiktokenBPE;
// The references: js-tiktoken itself, plain (Phi-4's segments) and with Phi-3-small's special tokens all allowed.
const plain = new Tiktoken(ranks);
const withSpecials = new Tiktoken(ranks, PHI3_SMALL_SPECIAL_TOKENS);
const referencePlain = (text: string): number[] => plain.encode(text, [], []);
const referenceCl100k = (text: string): number[] => withSpecials.encode(text, 'all');

// A small cache, so that evictions happen within the property runs too.
const bpe = new TiktokenBpe(ranks, 64);
const ours = (text: string): number[] => {
  const out: number[] = [];
  expect(bpe.encodeRange(text, 0, text.length, out)).toBe(out.length);
  expect(bpe.count(text)).toBe(out.length);
  return out;
};
const cl100k = tokenizerFor('cl100k');
const phi4 = tokenizerFor('phi4');

/** Deterministic pseudo-random bytes (mulberry32), for base64 blobs. */
function bytes(length: number, seed: number): Buffer {
  let a = seed >>> 0;
  return Buffer.from(
    Array.from({ length }, () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }),
  );
}

/** Texts that are one long pre-tokenizer piece, around the scan/heap threshold (64 bytes) and well past it. */
const LONG_PIECES: readonly string[] = [
  ...[1, 2, 3, 31, 32, 63, 64, 65, 66, 127, 128, 129, 300, 600].map((n) => 'a'.repeat(n)),
  ...[21, 22, 32, 33, 200].map((n) => 'é'.repeat(n)),
  ...[21, 22, 200, 300].map((n) => '中'.repeat(n)),
  ...[63, 64, 65, 400].map((n) => '!'.repeat(n)),
  ' '.repeat(200) + 'x',
  '\n'.repeat(150),
  'ab'.repeat(200),
  'abc'.repeat(150),
  'xyzzy'.repeat(150),
  'Abracadabra'.repeat(60),
  'ThisIsAVeryLongIdentifierWithoutAnySpacesThatKeepsGoingAndGoingUntilItIsLongEnoughToLeaveTheScanPath',
  'https://example.com/' + 'path/'.repeat(100),
  '😀'.repeat(100),
  'наоборот'.repeat(40),
  bytes(1_200, 1).toString('base64'),
  bytes(600, 2).toString('hex'),
];

describe('TiktokenBpe (cl100k_base)', () => {
  it('parses every rank of cl100k_base, one byte sequence each', () => {
    expect(bpe.size).toBe(100_256);
    expect(bpe.rankOf('hello')).toBe(15_339);
    expect(bpe.rankOf(' world')).toBe(1_917);
    // Every single byte is a token: no part of a merge is ever dropped.
    for (let b = 0; b < 256; b++) expect(bpe.rankOf(String.fromCharCode(b))).toBeTypeOf('number');
  });

  it('gives js-tiktoken ids on every corpus text', () => {
    for (const text of CORPUS) {
      expect(ours(text)).toEqual(referencePlain(text));
      expect(cl100k.encode(text)).toEqual(referenceCl100k(text));
    }
  });

  it('gives js-tiktoken ids on long unspaced pieces (heap merge), for both families', () => {
    for (const text of LONG_PIECES) {
      const expected = referencePlain(text);
      expect(ours(text)).toEqual(expected);
      expect(cl100k.encode(text)).toEqual(expected);
      expect(cl100k.countText(text)).toBe(expected.length);
      // No white space at the edges and no added tokens: Phi-4's content is the plain BPE.
      if (text.trim() === text) expect(phi4.encode(text)).toEqual(expected);
    }
  });

  it('encodes a range as its slice on its own (the pre-tokenizer stops at the end of the range)', () => {
    const text = 'abc   def  \n\n  ghi';
    for (let start = 0; start <= text.length; start++) {
      for (let end = start; end <= text.length; end++) {
        const out: number[] = [];
        bpe.encodeRange(text, start, end, out);
        expect(out).toEqual(referencePlain(text.slice(start, end)));
      }
    }
  });

  it('gives js-tiktoken ids on random text with long runs (fast-check, fixed seed)', () => {
    const unit = fc.constantFrom('a', 'b', 'e', 'Z', '0', '7', ' ', '  ', '\n', '\t', '!', '/', '+', '=', "'", 'é', 'ß', '中', '😀', '\ud800', '<|', '|>', '<|end|>', '<|endoftext|>');
    const run = fc.tuple(fc.constantFrom('a', 'e', 'x', 'é', '中', '!', ' ', 'ab', 'Qz', '0'), fc.integer({ min: 1, max: 200 })).map(([s, n]) => s.repeat(n));
    const blob = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b).toString('base64'));
    const text = fc
      .array(fc.oneof({ weight: 4, arbitrary: fc.string({ unit, maxLength: 20 }) }, { weight: 2, arbitrary: run }, { weight: 1, arbitrary: blob }), { maxLength: 8 })
      .map((parts) => parts.join('').slice(0, 2_000));
    fc.assert(
      fc.property(text, (t) => {
        expect(cl100k.encode(t)).toEqual(referenceCl100k(t));
        expect(cl100k.countText(t)).toBe(referenceCl100k(t).length);
        // Ordinary text: the special tokens' text is plain text here.
        expect(ours(t)).toEqual(referencePlain(t));
      }),
      { seed: 20_240_501, numRuns: 100 },
    );
  });

  it('counts a 400,000-character unspaced text on both families (decodes back to the text)', { timeout: 20_000 }, () => {
    for (const text of ['a'.repeat(400_000), bytes(300_000, 3).toString('base64')]) {
      const ids = phi4.encode(text);
      expect(phi4.countText(text)).toBe(ids.length);
      expect(cl100k.countText(text)).toBe(ids.length);
      expect(plain.decode(ids)).toBe(text);
    }
  });
});
