import { pathToFileURL } from 'node:url';
import llamaTokenizer from 'llama-tokenizer-js';
import { Llama2Bpe } from '../src/chat/tokenizer/Llama2Bpe.js';
import { Phi3Tokenizer } from '../src/chat/tokenizer/Phi3Tokenizer.js';
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
 * (~50 tokens each) one by one. Table building is timed on its own.
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
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.table(await benchTokenizer());
}
