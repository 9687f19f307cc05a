import type { ChatTokenizer } from '../../src/chat/tokenizer/ChatTokenizer.js';

/** What the simulator will answer: the text, why it stopped, and its size in the model's tokens. */
export interface CompletionPlan {
  readonly text: string;
  readonly finishReason: 'stop' | 'length';
  readonly completionTokens: number;
}

/**
 * Cuts a reply the way the model would: at the first stop string (which is not part of the reply), then at
 * `maxTokens` (finish reason `length`). The token cut happens between words, so the reply never exceeds
 * `maxTokens` even though a real model could stop mid-word.
 */
export function completionPlan(reply: string, stop: readonly string[], maxTokens: number, tokenizer: ChatTokenizer): CompletionPlan {
  let text = reply;
  for (const s of stop) {
    const at = s === '' ? -1 : text.indexOf(s);
    if (at >= 0) text = text.slice(0, at);
  }
  const full = tokenizer.countText(text);
  if (full <= maxTokens) return { text, finishReason: 'stop', completionTokens: full };
  const words = text.split(' ');
  // Largest word prefix that fits: token counts grow with the prefix, so binary search is exact.
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tokenizer.countText(words.slice(0, mid).join(' ')) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  const cut = words.slice(0, lo).join(' ');
  return { text: cut, finishReason: 'length', completionTokens: tokenizer.countText(cut) };
}

/** Splits text into stream pieces of `wordsPerChunk` words, keeping the spaces so the pieces join back exactly. */
export function streamPieces(text: string, wordsPerChunk: number): string[] {
  const words = text.split(/(?= )/);
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk) pieces.push(words.slice(i, i + wordsPerChunk).join(''));
  return pieces.filter((p) => p !== '');
}
