import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import llamaTokenizer from 'llama-tokenizer-js';
import { Cl100kTokenizer, PHI3_SMALL_SPECIAL_TOKENS } from '../src/chat/tokenizer/Cl100kTokenizer.js';
import { Llama2Bpe } from '../src/chat/tokenizer/Llama2Bpe.js';
import { Phi3Tokenizer } from '../src/chat/tokenizer/Phi3Tokenizer.js';
import { Phi4Tokenizer } from '../src/chat/tokenizer/Phi4Tokenizer.js';
import { TiktokenBpe } from '../src/chat/tokenizer/TiktokenBpe.js';
import { mixedText } from './mixedText.js';

/** One measurement: a tokenizer on a corpus. */
export interface Row {
  readonly corpus: string;
  readonly tokenizer: string;
  readonly tokens: number;
  readonly milliseconds: number;
  readonly tokensPerSecond: number;
  /** Whether its ids equal the reference's on this corpus (the reference itself: true). */
  readonly identical: boolean;
}

function time<T>(run: () => T): [T, number] {
  const start = performance.now();
  const result = run();
  return [result, performance.now() - start];
}

function row(corpus: string, tokenizer: string, tokens: number, milliseconds: number, identical: boolean): Row {
  return { corpus, tokenizer, tokens, milliseconds: Math.round(milliseconds * 10) / 10, tokensPerSecond: Math.round(tokens / (milliseconds / 1000)), identical };
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Tokens per second of the project's Phi-3 tokenizer and of llama-tokenizer-js, side by side: ~1 MB of mixed
 * text (cold: fresh tables and empty chunk cache; warm: the same text again), then 2,000 chat-sized messages
 * (~50 tokens each) one by one. Table building is timed on its own. Then the cl100k_base rows (`benchCl100k`).
 */
export async function benchTokenizer(): Promise<Row[]> {
  const rows: Row[] = [];
  const reference = (text: string): number[] => (text === '' ? [] : llamaTokenizer.encode(text, false, true));

  const [bpe, buildMs] = time(() => Llama2Bpe.fromEmbeddedData());
  rows.push(row('build tables (once per process)', 'ours', 0, buildMs, true));
  const ours = new Phi3Tokenizer(bpe);

  // No special tokens and no leading whitespace in the generated text: one segment, the reference's exact input.
  const big = mixedText(1_000_000).trimStart();
  const [refIds, refMs] = time(() => reference(big));
  const [coldIds, coldMs] = time(() => ours.encode(big));
  const [warmIds, warmMs] = time(() => ours.encode(big));
  const [warmCount, countMs] = time(() => ours.countText(big));
  const label = `mixed text, ${(big.length / 1e6).toFixed(2)}M chars`;
  rows.push(row(label, 'llama-tokenizer-js', refIds.length, refMs, true));
  rows.push(row(label, 'ours encode (cold cache)', coldIds.length, coldMs, same(coldIds, refIds)));
  rows.push(row(label, 'ours encode (warm cache)', warmIds.length, warmMs, same(warmIds, refIds)));
  rows.push(row(label, 'ours countText (warm)', warmCount, countMs, warmCount === refIds.length));

  const freshChat = new Phi3Tokenizer(Llama2Bpe.fromEmbeddedData());
  const messages = Array.from({ length: 2_000 }, (_, i) => mixedText(110, 1_000 + i).trim());
  const [refCounts, refChatMs] = time(() => messages.map((m) => reference(m).length));
  const [ourCounts, chatMs] = time(() => messages.map((m) => freshChat.countText(m)));
  const refTotal = refCounts.reduce((a, b) => a + b, 0);
  const chatLabel = `${messages.length} chat messages, ~${Math.round(refTotal / messages.length)} tokens each`;
  rows.push(row(chatLabel, 'llama-tokenizer-js', refTotal, refChatMs, true));
  rows.push(row(chatLabel, 'ours countText (cold cache)', ourCounts.reduce((a, b) => a + b, 0), chatMs, same(ourCounts, refCounts)));
  rows.push(...benchCl100k());
  return rows;
}

/**
 * Phi-3-small (cl100k) and Phi-4 against js-tiktoken's `encode` on the same ranks: the ~1 MB mixed text, then text
 * without spaces (one pre-tokenizer piece), where js-tiktoken is quadratic: it runs only on 5,000 characters
 * (seconds; 20,000 take about a minute), ours on 5,000 and 400,000.
 */
export function benchCl100k(): Row[] {
  const rows: Row[] = [];
  const ranks = createRequire(import.meta.url)('js-tiktoken/ranks/cl100k_base') as TiktokenBPE;
  const [reference, refBuildMs] = time(() => new Tiktoken(ranks, PHI3_SMALL_SPECIAL_TOKENS));
  rows.push(row('cl100k_base: build tables (once per process)', 'js-tiktoken', 0, refBuildMs, true));
  const [bpe, buildMs] = time(() => new TiktokenBpe(ranks));
  rows.push(row('cl100k_base: build tables (once per process)', 'ours', 0, buildMs, true));
  const cl100k = new Cl100kTokenizer(bpe);
  // Its own cache, so that its cold run is cold too.
  const phi4 = new Phi4Tokenizer(new TiktokenBpe(ranks));

  // Trimmed and free of special tokens: Phi-4's content, Phi-3-small's text and the reference's input agree.
  const big = mixedText(1_000_000).trim();
  const [refIds, refMs] = time(() => reference.encode(big, 'all'));
  const label = `cl100k_base: mixed text, ${(big.length / 1e6).toFixed(2)}M chars`;
  rows.push(row(label, 'js-tiktoken', refIds.length, refMs, true));
  const [clIds, clMs] = time(() => cl100k.encode(big));
  rows.push(row(label, 'ours cl100k encode (cold cache)', clIds.length, clMs, same(clIds, refIds)));
  const [clWarm, clWarmMs] = time(() => cl100k.encode(big));
  rows.push(row(label, 'ours cl100k encode (warm cache)', clWarm.length, clWarmMs, same(clWarm, refIds)));
  const [phiIds, phiMs] = time(() => phi4.encode(big));
  rows.push(row(label, 'ours phi4 encode (cold cache)', phiIds.length, phiMs, same(phiIds, refIds)));

  const short = 'a'.repeat(5_000);
  const [refShort, refShortMs] = time(() => reference.encode(short, 'all'));
  rows.push(row('cl100k_base: 5,000 chars unspaced', 'js-tiktoken', refShort.length, refShortMs, true));
  for (const [name, tokenizer] of [['cl100k', cl100k], ['phi4', phi4]] as const) {
    const [ids, ms] = time(() => tokenizer.encode(short));
    rows.push(row('cl100k_base: 5,000 chars unspaced', `ours ${name} encode`, ids.length, ms, same(ids, refShort)));
  }
  const long = 'a'.repeat(400_000);
  for (const [name, tokenizer] of [['cl100k', cl100k], ['phi4', phi4]] as const) {
    const [count, ms] = time(() => tokenizer.countText(long));
    // No reference in reasonable time: decoding back to the text is the check.
    rows.push(row('cl100k_base: 400,000 chars unspaced', `ours ${name} countText`, count, ms, reference.decode(tokenizer.encode(long)) === long));
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchTokenizer());
}
