import type { ChatTokenizer } from './ChatTokenizer.js';

/** What every message costs in the prompt besides its content: its role marker, end marker and template text. */
export function messageOverheadTokens(tokenizer: ChatTokenizer): number {
  return tokenizer.messageTokens({ role: 'user', content: '' });
}

/**
 * The count to store as a message's `tokenCount`: what its content adds to the prompt beyond
 * `messageOverheadTokens`, so that `messageTokens(m) === messageOverheadTokens + contentTokens(m.content)` for
 * every role (each family's role markers are single tokens). For Phi-3 it equals `countText(content)`.
 */
export function contentTokens(tokenizer: ChatTokenizer, content: string): number {
  return tokenizer.messageTokens({ role: 'user', content }) - messageOverheadTokens(tokenizer);
}
