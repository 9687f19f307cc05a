import { asSeen, type Message } from './conversation.js';
import { ChatError } from './errors.js';
import type { TurnContext, TurnOutcomeEvent } from './turnTypes.js';

/**
 * The terminal event a stored reply's stream ends with, as its own stream ended: `completed` for a complete reply
 * and for a stopped one (`cancelled`), `error` with the stored problem otherwise (a reply whose instance was lost
 * reads as that failure, `asSeen`). Null while the reply is still being produced.
 */
export function storedOutcome(message: Message, now: Date): TurnOutcomeEvent | null {
  const seen = asSeen(message, now);
  if (seen.status === 'streaming') return null;
  if (seen.status === 'complete' || seen.finishReason === 'cancelled') {
    return { type: 'completed', message: seen, context: seen.context ?? EMPTY_CONTEXT };
  }
  return { type: 'failed', error: storedError(seen), message: seen };
}

/** The stored failure; a lost instance is not a code of the closed set, so it replays as `upstream_error`. */
function storedError(message: Message): ChatError {
  const code = message.error?.code;
  const known = code && code !== 'instance_lost' ? (code as ChatError['code']) : 'upstream_error';
  return new ChatError(known, message.error?.detail ?? 'The turn failed.');
}

const EMPTY_CONTEXT: TurnContext = { window: 0, promptTokens: 0, maxTokens: 0, messagesIncluded: 0, messagesDropped: 0 };
