import llamaTokenizer from 'llama-tokenizer-js';
import type { ChatTokenizer } from '../../src/chat/tokenizer/ChatTokenizer.js';
import type { PromptMessage } from '../../src/chat/ports.js';

const SPECIAL = { system: 32006, user: 32010, assistant: 32001, end: 32007 } as const;

/**
 * A slow but simple Phi-3 chat tokenizer over `llama-tokenizer-js`, for tests that need exact counts before (or
 * independently of) the project's own tokenizer: `<|role|>` content `<|end|>` per message, `<|assistant|>` to ask
 * for the reply, whitespace after a special token stripped (Hugging Face `rstrip`), dummy prefix on each segment.
 * It does not split message text on special-token strings: test text must not contain them.
 */
export function llamaChatTokenizer(): ChatTokenizer {
  const encode = (text: string): number[] => (text === '' ? [] : llamaTokenizer.encode(text, false, true));
  const messageIds = (m: PromptMessage): number[] => [SPECIAL[m.role], ...encode(m.content.trimStart()), SPECIAL.end];
  return {
    encode,
    countText: (text) => encode(text).length,
    messageTokens: (m) => messageIds(m).length,
    generationPromptTokens: 1,
    encodePrompt: (ms) => [...ms.flatMap(messageIds), SPECIAL.assistant],
    countPrompt: (ms) => ms.reduce((sum, m) => sum + messageIds(m).length, 0) + 1,
  };
}
