import type { TurnOutcome } from '../chat/ConversationStore.js';
import type { ConversationDocument } from './documents.js';

/** Turn ids a conversation remembers as counted: a settle retried after a lost answer is not counted twice. */
const RECENT_TURNS_KEPT = 32;

/**
 * What finishing a turn changes in its conversation: the lock freed if the turn still holds it, and, once per turn
 * id, its messages and usage added. Applied by `finishTurn` and by a settle that finishes in the same write.
 */
export function applyTurnOutcome(doc: ConversationDocument, outcome: TurnOutcome): void {
  if (doc.activeTurn?.turnId === outcome.turnId) doc.activeTurn = null;
  // Already counted (a retried settle): only the lock is freed.
  if (doc.recentTurns.includes(outcome.turnId)) return;
  doc.recentTurns = [...doc.recentTurns, outcome.turnId].slice(-RECENT_TURNS_KEPT);
  doc.messageCount += outcome.messagesAdded;
  doc.usage = {
    promptTokens: doc.usage.promptTokens + outcome.usage.promptTokens,
    completionTokens: doc.usage.completionTokens + outcome.usage.completionTokens,
    totalTokens: doc.usage.totalTokens + outcome.usage.totalTokens,
  };
  if (outcome.updatedAt > doc.updatedAt) doc.updatedAt = outcome.updatedAt;
}
