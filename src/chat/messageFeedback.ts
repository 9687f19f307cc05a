import type { Message, MessageFeedback } from './conversation.js';
import type { ConversationStore } from './ConversationStore.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { LEASE_TIMING } from './leaseTiming.js';
import type { Clock } from './ports.js';

export interface FeedbackInput {
  readonly rating: 'up' | 'down';
  readonly comment?: string | undefined;
}

/**
 * Refuses feedback a turn could still overwrite. The turn writes its reply whole (checkpoints, then the final
 * message built from its placeholder), so a field set on a reply meanwhile would be lost: while the reply is
 * `streaming` and its turn may still write it (its lease, plus the settle budget in which the final write is
 * retried), the answer is 409 `conversation_busy`. Past that, the turn can no longer write; the recovery that
 * settles such a reply later starts from the stored message, feedback included. Only assistant replies are rated.
 */
export function checkRateable(message: Message, now: Date): void {
  if (message.role !== 'assistant') {
    throw new ValidationError('Only assistant messages take feedback.', [{ field: 'messageId', message: 'must be an assistant message' }]);
  }
  const writableUntil = Date.parse(message.leaseUntil ?? '') + LEASE_TIMING.settleBudgetMs;
  if (message.status === 'streaming' && writableUntil > now.getTime()) {
    throw new ConflictError('The reply is still being generated; rate it once it is complete.');
  }
}

/**
 * Sets (`input`) or removes (null) the caller's feedback on an assistant reply of one of its conversations, in a
 * write conditional on the message as read (see `ConversationStore.modifyMessage`). NotFoundError for a message
 * or conversation that is not the caller's.
 */
export async function setMessageFeedback(
  deps: { readonly store: ConversationStore; readonly clock: Clock },
  userId: string, conversationId: string, messageId: string, input: FeedbackInput | null,
): Promise<Message> {
  if (!(await deps.store.getConversation(userId, conversationId))) throw new NotFoundError('No such conversation.');
  return deps.store.modifyMessage(userId, conversationId, messageId, (message) => {
    const now = deps.clock.now();
    checkRateable(message, now);
    const { feedback: _old, ...rest } = message;
    if (input === null) return rest;
    const feedback: MessageFeedback = { rating: input.rating, comment: input.comment ?? null, updatedAt: now.toISOString() };
    return { ...rest, feedback };
  });
}
