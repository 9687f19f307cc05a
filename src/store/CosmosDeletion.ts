import type { Container } from '@azure/cosmos';
import type { ConversationStore } from '../chat/ConversationStore.js';
import type { Clock } from '../chat/ports.js';
import { guard } from './cosmosErrors.js';
import { queryPartition } from './cosmosQuery.js';
import { keptChanging, type ConversationDocuments } from './ConversationDocuments.js';
import { deleteItem } from './deleteItem.js';
import type { ConversationDocument } from './documents.js';
import { AGAIN, optimistically } from './optimistically.js';

/** Documents of one conversation deleted at a time while purging. */
const PURGE_PARALLEL = 16;

/**
 * Deleting a conversation: the tombstone, the purge of its documents, the sweep of what a lost instance left. Apart
 * because a delete is several requests that may stop anywhere (a batch holds 100 operations, a conversation any
 * number of messages), and the tombstone rules (see docs/data-model.md, "Delete") are what make that safe.
 */
export class CosmosDeletion implements Pick<ConversationStore, 'deleteConversation' | 'sweepDeleted'> {
  readonly #container: Container;
  readonly #clock: Clock;
  readonly #documents: ConversationDocuments;

  constructor(container: Container, clock: Clock, documents: ConversationDocuments) {
    this.#container = container;
    this.#clock = clock;
    this.#documents = documents;
  }

  async deleteConversation(userId: string, conversationId: string): Promise<boolean> {
    return optimistically(async () => {
      const doc = await this.#documents.read(userId, conversationId);
      if (!doc) return false;
      if (doc.deletedAt) {
        // Already gone for the client (every read says 404, so this does too); finish what an earlier delete left.
        await this.purge(userId, doc);
        return false;
      }
      // Hide it from every read first: if this instance dies below, nothing half-exists for the client. The etag
      // keeps a turn lock taken meanwhile from being overwritten (the purge below must see it).
      doc.deletedAt = this.#clock.now().toISOString();
      if (!(await this.#documents.replace(doc))) return AGAIN;
      await this.purge(userId, doc);
      return true;
    }, keptChanging);
  }

  async sweepDeleted(): Promise<number> {
    const { resources } = await guard(() =>
      this.#container.items
        .query<ConversationDocument>('SELECT * FROM c WHERE c.type = "conversation" AND IS_DEFINED(c.deletedAt)')
        .fetchAll(),
    );
    let finished = 0;
    for (const doc of resources) if (await this.purge(doc.userId, doc)) finished += 1;
    return finished;
  }

  /**
   * For a turn that found its conversation deleted while it ran: its last messages were written after the purge.
   * The turn writes nothing more, so the delete can now finish (with the turn's lock released the tombstone goes
   * too, unless another turn holds it). A conversation already gone is fine.
   */
  async finishAfterTurn(userId: string, conversationId: string, turnId: string): Promise<void> {
    const tombstone = await this.#documents.read(userId, conversationId);
    if (!tombstone?.deletedAt) return;
    const activeTurn = tombstone.activeTurn?.turnId === turnId ? null : tombstone.activeTurn;
    await this.purge(userId, { ...tombstone, activeTurn });
  }

  /**
   * Deletes a deleted conversation's messages and idempotency records, then its document. While a live turn still
   * holds the lock, the document stays as a tombstone (invisible to reads): that turn may still write its messages,
   * and its `finishTurn`, or a later sweep once the lock has expired, purges again. Returns true when all is gone.
   */
  async purge(userId: string, tombstone: ConversationDocument): Promise<boolean> {
    const conversationId = tombstone.id;
    this.#documents.histories.forget(userId, conversationId);
    // The conversation's own documents only: usage spent in it outlives it.
    const resources = await queryPartition<{ id: string }>(
      this.#container, userId,
      'SELECT c.id FROM c WHERE c.userId = @userId AND c.conversationId = @conversationId AND c.type IN ("message", "idempotency")',
      { conversationId },
    );
    for (let i = 0; i < resources.length; i += PURGE_PARALLEL) {
      await Promise.all(resources.slice(i, i + PURGE_PARALLEL).map(({ id }) => deleteItem(this.#container, id, userId)));
    }
    const turn = tombstone.activeTurn;
    if (turn && Date.parse(turn.expiresAt) > this.#clock.now().getTime()) return false;
    await deleteItem(this.#container, conversationId, userId);
    return true;
  }
}
