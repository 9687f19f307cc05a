import { describe, expect, it } from 'vitest';
import { Llama2Bpe } from '../../../src/chat/tokenizer/Llama2Bpe.js';
import { CORPUS } from './corpus.js';
import { referenceSegment } from './referenceTokenizer.js';

describe('Llama2Bpe', () => {
  it('gives the reference ids through cache hits, misses and evictions (a 4-entry cache)', () => {
    const bpe = Llama2Bpe.fromEmbeddedData(4);
    for (let round = 0; round < 2; round++) {
      for (const text of CORPUS) {
        const out: number[] = [];
        bpe.encodeInto(text, out);
        expect(out).toEqual(referenceSegment(text));
        expect(bpe.count(text)).toBe(out.length);
      }
    }
  });

  it('appends to what is already there', () => {
    const bpe = Llama2Bpe.fromEmbeddedData();
    const out = [7];
    bpe.encodeInto('Hello world', out);
    expect(out).toEqual([7, ...referenceSegment('Hello world')]);
  });
});
