import type { Container } from '@azure/cosmos';
import { NotFoundError, PreconditionFailedError } from '../chat/errors.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import type { ConversationDocument } from './documents.js';
import { AGAIN, optimistically } from './optimistically.js';
import { readItem } from './readItem.js';
import { RecentMap } from './RecentMap.js';
import { RememberedHistories } from './RememberedHistories.js';
import type { Message } from '../chat/conversation.js';

// Whole documents (a system prompt may be 100K characters): kept few.
const LAST_READ_KEPT = 256;

/** What a conversation change that met another writer on every attempt answers. */
export function keptChanging(): never {
  throw new PreconditionFailedError('The conversation kept changing; try again.');
}

/**
 * Every read and conditional write of one instance's conversation documents, so that its memory of the last
 * version seen (the "Caching" paragraph of the ConversationStore port) is kept in one place and only ever written
 * back under that version's etag: a stale copy costs a 412 and a fresh read, never a lost change.
 */
export class ConversationDocuments {
  readonly #container: Container;
  /** The last version read or written per conversation (insertion order = age). */
  readonly #lastSeen = new RecentMap<string, ConversationDocument>(LAST_READ_KEPT);
  /** The messages of small conversations, at the etag of the version remembered here (see RememberedHistories). */
  readonly histories = new RememberedHistories();

  constructor(container: Container) {
    this.#container = container;
  }

  /** The caller's conversation document, tombstones included (callers decide), or null; remembered. */
  async read(userId: string, conversationId: string): Promise<ConversationDocument | null> {
    const doc = await readItem<ConversationDocument>(this.#container, conversationId, userId);
    // The embedded store ignores the partition key on reads too: the owner is checked here.
    if (!doc || doc.type !== 'conversation' || doc.userId !== userId) return null;
    this.remember(doc);
    return doc;
  }

  /** A copy of the remembered version; given `etag`, only if it is that version (the one the caller holds). */
  remembered(userId: string, conversationId: string, etag?: string): ConversationDocument | null {
    const doc = this.#lastSeen.get(key(userId, conversationId));
    if (!doc || (etag !== undefined && unquoted(doc._etag) !== etag)) return null;
    return structuredClone(doc);
  }

  remember(doc: ConversationDocument): void {
    // Only ever used under its etag: a copy without one could make a conditional replace unconditional.
    if (doc._etag) this.#lastSeen.set(key(doc.userId, doc.id), structuredClone(doc));
    else this.#lastSeen.delete(key(doc.userId, doc.id));
    // Messages kept for an older version are no use beside this one.
    this.histories.moved(doc.userId, doc.id, undefined, doc._etag);
  }

  /** A conditional replace of `from` landed as `stored`: remembered, with the messages known at `from`. */
  rememberReplaced(from: ConversationDocument, stored: ConversationDocument): void {
    // A replace adds no message: what was all of them at the version replaced still is.
    this.histories.moved(from.userId, from.id, from._etag, stored._etag);
    this.remember(stored);
  }

  /** Nothing remembered of the conversation any more: a write landed whose result is not known. */
  forget(userId: string, conversationId: string): void {
    this.#lastSeen.delete(key(userId, conversationId));
    this.histories.forget(userId, conversationId);
  }

  /** The remembered live version and all its messages (ascending), when both are known and at most `limit`. */
  rememberedWithMessages(userId: string, conversationId: string, limit: number): { doc: ConversationDocument; messages: Message[] } | null {
    const doc = this.#lastSeen.get(key(userId, conversationId));
    if (!doc || doc.deletedAt) return null;
    const messages = this.histories.at(userId, conversationId, doc._etag);
    return messages && messages.length <= limit ? { doc: structuredClone(doc), messages } : null;
  }

  /** Replaces `doc` if the stored version still has `doc._etag`: the stored result (remembered), or null on a 412. */
  async replace(doc: ConversationDocument): Promise<ConversationDocument | null> {
    try {
      const { resource } = await this.#container
        .item(doc.id, doc.userId)
        .replace(doc, { accessCondition: { type: 'IfMatch', condition: doc._etag ?? '' } });
      const stored = resource as ConversationDocument;
      this.rememberReplaced(doc, stored);
      return stored;
    } catch (error) {
      if (cosmosStatus(error) === 412) return null;
      this.histories.forget(doc.userId, doc.id);
      throw toChatError(error);
    }
  }

  /**
   * Read (or, first, the remembered version when `fromMemory`), change, replace under the etag, retried on a
   * concurrent change unless the client sent its own `ifMatch` (then a stale one is a PreconditionFailedError).
   * NotFoundError for a missing or deleted conversation.
   */
  async modify(
    userId: string, conversationId: string, change: (doc: ConversationDocument) => void,
    { ifMatch, fromMemory = false }: { readonly ifMatch?: string | undefined; readonly fromMemory?: boolean } = {},
  ): Promise<ConversationDocument> {
    const clientCondition = ifMatch !== undefined && ifMatch !== '*';
    return optimistically(async (attempt) => {
      const doc = (fromMemory && attempt === 0 ? this.remembered(userId, conversationId) : null) ?? (await this.read(userId, conversationId));
      if (!doc || doc.deletedAt) throw new NotFoundError('No such conversation.');
      if (clientCondition && ifMatch !== unquoted(doc._etag)) throw new PreconditionFailedError();
      change(doc);
      const stored = await this.replace(doc);
      if (stored) return stored;
      if (clientCondition) throw new PreconditionFailedError();
      return AGAIN;
    }, keptChanging);
  }
}

function key(userId: string, conversationId: string): string {
  return `${userId}\n${conversationId}`;
}

/** An etag as the port's `Conversation.etag` carries it (Cosmos quotes its etags). */
function unquoted(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}
