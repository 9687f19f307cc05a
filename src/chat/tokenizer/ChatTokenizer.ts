import type { PromptMessage } from '../ports.js';

/**
 * Exact token counts for one tokenizer family, as the model sees the prompt: the chat template with its
 * special tokens. Counts add up: `countPrompt(ms) === sum(messageTokens(m)) + generationPromptTokens`, and a
 * message's cost does not depend on its neighbours, so a count stored with a message stays right.
 */
export interface ChatTokenizer {
  /** Ids of a text segment as the model would see it inside a message. */
  encode(text: string): number[];
  /** Tokens of plain text (a completion, for the `estimated` usage). */
  countText(text: string): number;
  /** Tokens one message costs in the prompt, its role markers and end marker included. */
  messageTokens(message: PromptMessage): number;
  /**
   * Tokens the template adds besides the messages: the generation prompt after the last message
   * (`<|assistant|>\n`), plus the leading BOS where the template has one (Phi-3-small's `<|endoftext|>`).
   */
  readonly generationPromptTokens: number;
  /** Ids of the whole prompt, generation prompt included. */
  encodePrompt(messages: readonly PromptMessage[]): number[];
  /** `encodePrompt(messages).length`, computed without building the array where possible. */
  countPrompt(messages: readonly PromptMessage[]): number;
}
