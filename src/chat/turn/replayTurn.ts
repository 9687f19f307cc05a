import type { IdempotencyRecord } from '../ConversationStore.js';
import { ChatError, ConflictError, NotFoundError } from '../errors.js';
import { storedOutcome } from '../storedOutcome.js';
import { EventQueue } from '../EventQueue.js';
import { requestHash } from '../requestHash.js';
import type { StartedTurn, TurnEvent, TurnRequest } from '../turnTypes.js';
import type { TurnDeps } from './TurnDeps.js';

/**
 * A retried POST: the stored turn, as it stands now, without the model. Another request under the same key is
 * refused (422), and so is the same one while its turn still runs (409); a turn whose instance was lost replays as
 * the failure it reads as (`asSeen`), and a stopped one as completed (`storedOutcome`).
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
  const final = assistant && storedOutcome(assistant, deps.clock.now());
  if (!final) throw new ConflictError('The first request with this Idempotency-Key is still running.');
  const seen = final.message ?? assistant;
  const queue = new EventQueue<TurnEvent>();
  queue.push({ type: 'created', userMessage, assistantMessageId: seen.id });
  queue.push(final);
  queue.close();
  return { userMessage, assistantMessageId: seen.id, events: queue, outcome: Promise.resolve(final) };
}
