import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import llamaTokenizer from 'llama-tokenizer-js';
import type { ChatTokenizer } from '../src/chat/tokenizer/ChatTokenizer.js';
import { Cl100kTokenizer, PHI3_SMALL_SPECIAL_TOKENS } from '../src/chat/tokenizer/Cl100kTokenizer.js';
import { Llama2Bpe } from '../src/chat/tokenizer/Llama2Bpe.js';
import { Phi3Tokenizer } from '../src/chat/tokenizer/Phi3Tokenizer.js';
import { Phi4MiniTokenizer } from '../src/chat/tokenizer/Phi4MiniTokenizer.js';
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
 * (~50 tokens each) one by one. Table building is timed on its own. Then the cl100k_base and o200k_base rows.
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
  rows.push(...benchCl100k(), ...benchO200k());
  return rows;
}

/** A tiktoken-based family: its name in the rows, and how it is built on a `TiktokenBpe`. */
type Family = readonly [name: string, build: (bpe: TiktokenBpe) => ChatTokenizer];

/**
 * Families built on one tiktoken encoding against js-tiktoken's `encode` on the same ranks: the ~1 MB mixed text,
 * then text without spaces (one pre-tokenizer piece), where js-tiktoken is quadratic: it runs only on 5,000
 * characters (seconds; 20,000 take about a minute), ours on 5,000 and 400,000. The first family gets the timed
 * tables and a warm run too; each other family its own tables, so that its cold run is cold too.
 */
function benchTiktoken(encoding: 'cl100k_base' | 'o200k_base', families: readonly Family[], specials?: Record<string, number>): Row[] {
  const rows: Row[] = [];
  const ranks = createRequire(import.meta.url)(`js-tiktoken/ranks/${encoding}`) as TiktokenBPE;
  const [reference, refBuildMs] = time(() => new Tiktoken(ranks, specials));
  rows.push(row(`${encoding}: build tables (once per process)`, 'js-tiktoken', 0, refBuildMs, true));
  const [bpe, buildMs] = time(() => new TiktokenBpe(ranks));
  rows.push(row(`${encoding}: build tables (once per process)`, 'ours', 0, buildMs, true));
  const built = families.map(([name, build], i) => [name, build(i === 0 ? bpe : new TiktokenBpe(ranks))] as const);

  // Trimmed and free of special tokens: every family's content and the reference's input agree.
  const big = mixedText(1_000_000).trim();
  const [refIds, refMs] = time(() => reference.encode(big, 'all'));
  const label = `${encoding}: mixed text, ${(big.length / 1e6).toFixed(2)}M chars`;
  rows.push(row(label, 'js-tiktoken', refIds.length, refMs, true));
  for (const [i, [name, tokenizer]] of built.entries()) {
    const [ids, ms] = time(() => tokenizer.encode(big));
    rows.push(row(label, `ours ${name} encode (cold cache)`, ids.length, ms, same(ids, refIds)));
    if (i > 0) continue;
    const [warm, warmMs] = time(() => tokenizer.encode(big));
    rows.push(row(label, `ours ${name} encode (warm cache)`, warm.length, warmMs, same(warm, refIds)));
  }

  const short = 'a'.repeat(5_000);
  const [refShort, refShortMs] = time(() => reference.encode(short, 'all'));
  rows.push(row(`${encoding}: 5,000 chars unspaced`, 'js-tiktoken', refShort.length, refShortMs, true));
  for (const [name, tokenizer] of built) {
    const [ids, ms] = time(() => tokenizer.encode(short));
    rows.push(row(`${encoding}: 5,000 chars unspaced`, `ours ${name} encode`, ids.length, ms, same(ids, refShort)));
  }
  const long = 'a'.repeat(400_000);
  for (const [name, tokenizer] of built) {
    const [count, ms] = time(() => tokenizer.countText(long));
    // No reference in reasonable time: decoding back to the text is the check.
    rows.push(row(`${encoding}: 400,000 chars unspaced`, `ours ${name} countText`, count, ms, reference.decode(tokenizer.encode(long)) === long));
  }
  return rows;
}

/** Phi-3-small (cl100k) and Phi-4 on cl100k_base. */
export function benchCl100k(): Row[] {
  return benchTiktoken('cl100k_base', [['cl100k', (bpe) => new Cl100kTokenizer(bpe)], ['phi4', (bpe) => new Phi4Tokenizer(bpe)]], PHI3_SMALL_SPECIAL_TOKENS);
}

/** Phi-4-mini on o200k_base (js-tiktoken with o200k_base's own two special tokens). */
export function benchO200k(): Row[] {
  return benchTiktoken('o200k_base', [['phi4mini', (bpe) => new Phi4MiniTokenizer(bpe)]]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchTokenizer());
}
