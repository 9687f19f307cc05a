import type { PromptMessage } from '../ports.js';

/**
 * Exact token counts for one tokenizer family, as the model sees the prompt: the chat template with its
 * special tokens, no BOS. Counts add up: `countPrompt(ms) === sum(messageTokens(m)) + generationPromptTokens`.
 */
export interface ChatTokenizer {
  /** Ids of a text segment as the model would see it inside a message. */
  encode(text: string): number[];
  /** Tokens of plain text (a completion, for the `estimated` usage). */
  countText(text: string): number;
  /** Tokens one message costs in the prompt, its role markers and end marker included. */
  messageTokens(message: PromptMessage): number;
  /** Tokens the template adds after the last message to ask for the reply (`<|assistant|>\n`). */
  readonly generationPromptTokens: number;
  /** Ids of the whole prompt, generation prompt included. */
  encodePrompt(messages: readonly PromptMessage[]): number[];
  /** `encodePrompt(messages).length`, computed without building the array where possible. */
  countPrompt(messages: readonly PromptMessage[]): number;
}
