import type { Container } from '@azure/cosmos';
import type { Conversation, Message } from '../chat/conversation.js';
import { titleSourceOf } from '../chat/conversation.js';
import type { ConversationStore } from '../chat/ConversationStore.js';
import { NotFoundError } from '../chat/errors.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import type { ConversationDocuments } from './ConversationDocuments.js';
import { keptChanging } from './ConversationDocuments.js';
import type { MessageDocument } from './documents.js';
import { titleFields, toConversation, toMessage, toMessageDocument } from './documents.js';
import { AGAIN, optimistically } from './optimistically.js';
import { readItem } from './readItem.js';

/** The part of the port that annotates what is stored: a conversation's auto title, a message's feedback. */
export type TitlesAndFeedback = Pick<ConversationStore, 'setAutoTitle' | 'modifyMessage'>;

/**
 * Writes that change one field of a stored document beside the routes' and the turn's own writes, each conditional
 * on the version it read (the etag), so neither a client's rename nor a turn's write is ever overwritten by them.
 */
export class CosmosTitlesAndFeedback implements TitlesAndFeedback {
  readonly #container: Container;
  readonly #documents: ConversationDocuments;

  constructor(container: Container, documents: ConversationDocuments) {
    this.#container = container;
    this.#documents = documents;
  }

  async setAutoTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null> {
    return optimistically(async () => {
      const doc = await this.#documents.read(userId, conversationId);
      if (!doc || doc.deletedAt || titleSourceOf(doc) !== null) return null;
      const stored = await this.#documents.replace({ ...doc, ...titleFields(title, 'auto') });
      return stored ? toConversation(stored) : AGAIN;
    }, () => null);
  }

  async modifyMessage(userId: string, conversationId: string, messageId: string, change: (message: Message) => Message): Promise<Message> {
    return optimistically(async () => {
      const doc = await readItem<MessageDocument>(this.#container, messageId, userId);
      // The embedded store ignores the partition key on reads: the owner is checked here too.
      if (!doc || doc.type !== 'message' || doc.userId !== userId || doc.conversationId !== conversationId) {
        throw new NotFoundError('No such message.');
      }
      const next = toMessageDocument(change(toMessage(doc)));
      try {
        const { resource } = await this.#container
          .item(messageId, userId)
          .replace(next, { accessCondition: { type: 'IfMatch', condition: doc._etag ?? '' } });
        const stored = toMessage(resource as unknown as MessageDocument);
        this.#documents.histories.changed(stored);
        return stored;
      } catch (error) {
        if (cosmosStatus(error) === 412) return AGAIN;
        if (cosmosStatus(error) === 404) throw new NotFoundError('No such message.');
        this.#documents.histories.forget(userId, conversationId);
        throw toChatError(error);
      }
    }, keptChanging);
  }
}
