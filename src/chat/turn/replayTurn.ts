import { asSeen, type Message } from '../conversation.js';
import type { IdempotencyRecord } from '../ConversationStore.js';
import { ChatError, ConflictError, NotFoundError } from '../errors.js';
import { EventQueue } from '../EventQueue.js';
import { requestHash } from '../requestHash.js';
import type { StartedTurn, TurnContext, TurnEvent, TurnOutcomeEvent, TurnRequest } from '../turnTypes.js';
import type { TurnDeps } from './TurnDeps.js';

/**
 * A retried POST: the stored turn, as it stands now, without the model. Another request under the same key is
 * refused (422), and so is the same one while its turn still runs (409); a turn whose instance was lost replays as
 * the failure it reads as (`asSeen`).
 */
export async function replayTurn(deps: TurnDeps, userId: string, record: IdempotencyRecord, request: TurnRequest): Promise<StartedTurn> {
  if (record.requestHash !== requestHash(request)) {
    throw new ChatError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
  }
  const [userMessage, assistant] = await Promise.all([
    deps.store.getMessage(userId, record.userMessageId),
    deps.store.getMessage(userId, record.assistantMessageId),
  ]);
  if (!userMessage) throw new NotFoundError('No such conversation.');
  const seen = assistant && asSeen(assistant, deps.clock.now());
  if (!seen || seen.status === 'streaming') throw new ConflictError('The first request with this Idempotency-Key is still running.');
  const final: TurnOutcomeEvent =
    seen.status === 'complete'
      ? { type: 'completed', message: seen, context: seen.context ?? emptyContext() }
      : { type: 'failed', error: storedError(seen), message: seen };
  const queue = new EventQueue<TurnEvent>();
  queue.push({ type: 'created', userMessage, assistantMessageId: seen.id });
  queue.push(final);
  queue.close();
  return { userMessage, assistantMessageId: seen.id, events: queue, outcome: Promise.resolve(final) };
}

/** The stored failure; a lost instance is not a code of the closed set, so it replays as `upstream_error`. */
function storedError(message: Message): ChatError {
  const code = message.error?.code;
  const known = code && code !== 'instance_lost' ? (code as ChatError['code']) : 'upstream_error';
  return new ChatError(known, message.error?.detail ?? 'The turn failed.');
}

function emptyContext(): TurnContext {
  return { window: 0, promptTokens: 0, maxTokens: 0, messagesIncluded: 0, messagesDropped: 0 };
}
