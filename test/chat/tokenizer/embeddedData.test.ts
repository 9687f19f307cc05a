import llamaTokenizer from 'llama-tokenizer-js';
import { describe, expect, it } from 'vitest';
import { LLAMA2_MERGES_BASE64, LLAMA2_VOCAB_BASE64 } from '../../../src/chat/tokenizer/llama2Data.js';

describe('embedded Llama-2 data', () => {
  it('has llama-tokenizer-js vocabulary, id for id', () => {
    const pieces = Buffer.from(LLAMA2_VOCAB_BASE64, 'base64').toString('utf8').split('\n');
    expect(pieces).toEqual(llamaTokenizer.vocabById);
  });

  it('has its merges in priority order, each with the id of the merged piece', () => {
    const bytes = Buffer.from(LLAMA2_MERGES_BASE64, 'base64');
    const vocab = llamaTokenizer.vocabById;
    const merges: [string, number][] = [];
    for (let at = 0; at < bytes.length; at += 6) {
      const left = vocab[bytes.readUInt16LE(at)] as string;
      const right = vocab[bytes.readUInt16LE(at + 2)] as string;
      expect(vocab[bytes.readUInt16LE(at + 4)]).toBe(left + right);
      // The reference's merge priority for rank r is 2r + 1.
      merges.push([`${left} ${right}`, merges.length * 2 + 1]);
    }
    expect(new Map(merges)).toEqual(llamaTokenizer.merges);
  });
});
