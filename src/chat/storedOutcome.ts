import type { Message } from './conversation.js';
import { ChatError, UpstreamError } from './errors.js';
import type { TurnContext, TurnOutcomeEvent } from './turnTypes.js';

/**
 * The terminal event a stored reply's stream ends with, as its own stream ended: `completed` for a complete reply
 * and for a stopped one (`cancelled`), `error` with the stored problem otherwise; a reply still `streaming` past
 * its lease lost its instance. Null while the reply is still being produced.
 */
export function storedOutcome(message: Message, now: Date): TurnOutcomeEvent | null {
  if (message.status === 'streaming') {
    if (Date.parse(message.leaseUntil ?? '') > now.getTime()) return null;
    return { type: 'failed', error: new UpstreamError('upstream_error', 'The turn stopped before it finished.'), message };
  }
  if (message.status === 'complete' || message.finishReason === 'cancelled') {
    return { type: 'completed', message, context: message.context ?? EMPTY_CONTEXT };
  }
  const code = message.error?.code;
  const known = code && code !== 'instance_lost' ? (code as ChatError['code']) : 'upstream_error';
  return { type: 'failed', error: new ChatError(known, message.error?.detail ?? 'The turn failed.'), message };
}

const EMPTY_CONTEXT: TurnContext = { window: 0, promptTokens: 0, maxTokens: 0, messagesIncluded: 0, messagesDropped: 0 };
