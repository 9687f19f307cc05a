import type { TurnStart } from '../../src/chat/ConversationStore.js';
import type { Clock } from '../../src/chat/ports.js';
import { newId, turnMessageIds } from '../../src/chat/ids.js';

/** What a turn hands `beginTurn`: a lock for `lockMs` from the clock's now, a user message and an empty placeholder. */
export function turnStartAt(clock: Clock, userId: string, conversationId: string, key?: string, lockMs = 60_000): TurnStart {
  const turnId = newId('t');
  const ids = turnMessageIds(turnId);
  const createdAt = clock.now().toISOString();
  return {
    turn: { turnId, expiresAt: new Date(clock.now().getTime() + lockMs).toISOString() },
    messages: [
      { id: ids.user, conversationId, userId, role: 'user', content: 'hi', status: 'complete', createdAt, tokenCount: 1, turnId },
      { id: ids.assistant, conversationId, userId, role: 'assistant', content: '', status: 'streaming', createdAt, tokenCount: 0, turnId },
    ],
    idempotency: key === undefined ? undefined : {
      key, conversationId, requestHash: 'h', turnId, userMessageId: ids.user, assistantMessageId: ids.assistant, createdAt,
    },
  };
}
