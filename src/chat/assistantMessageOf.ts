import type { Message } from './conversation.js';
import type { ConversationStore } from './ConversationStore.js';
import { NotFoundError, ValidationError } from './errors.js';

/** The caller's assistant message of that conversation: 404 for anything else's id, 400 for a user message. */
export async function assistantMessageOf(store: ConversationStore, userId: string, conversationId: string, messageId: string): Promise<Message> {
  const [conversation, message] = await Promise.all([
    store.getConversation(userId, conversationId),
    store.getMessage(userId, messageId),
  ]);
  if (!conversation || !message || message.conversationId !== conversationId) throw new NotFoundError('No such message.');
  if (message.role !== 'assistant') {
    throw new ValidationError('Only an assistant message has a reply stream.', [{ field: 'messageId', message: 'is a user message' }]);
  }
  return message;
}
