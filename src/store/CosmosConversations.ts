import type { Container, OperationResponse, SqlQuerySpec } from '@azure/cosmos';
import type { Conversation, Message, Page } from '../chat/conversation.js';
import { titleSourceOf, ZERO_USAGE } from '../chat/conversation.js';
import type {
  ConversationChanges, ConversationListRequest, ConversationStore, NewConversation, PageRequest, TurnOutcome,
} from '../chat/ConversationStore.js';
import { searchKey } from '../chat/searchKey.js';
import { NotFoundError, StoreUnavailableError } from '../chat/errors.js';
import type { UsageEntry } from '../chat/UsageLedger.js';
import { asJson, transactionalBatch, type BatchWrite } from './cosmosBatch.js';
import { guard } from './cosmosErrors.js';
import type { ConversationDocuments } from './ConversationDocuments.js';
import type { ConversationDocument, MessageDocument } from './documents.js';
import { titleFields, toConversation, toMessage, toMessageDocument, usageTurnDocument } from './documents.js';
import { pageQuery } from './pageQuery.js';
import { readItem } from './readItem.js';
import { applyTurnOutcome } from './turnOutcome.js';

/** A settle that finishes its turn too: the conversation as remembered, and as it will be stored. */
interface Finishing {
  readonly from: ConversationDocument;
  readonly finished: ConversationDocument;
}

/** The part of the port that reads and writes conversations and messages as such, outside a turn's lock. */
export type ConversationsAndMessages = Pick<
  ConversationStore,
  | 'createConversation' | 'getConversation' | 'listConversations' | 'updateConversation' | 'listMessages'
  | 'recentMessages' | 'getMessage' | 'putMessage' | 'settleMessage'
>;

/**
 * Conversations and messages: CRUD, pages and counts. Kept apart from the turn lock and the delete because these
 * are the routes' plain reads and writes; a conversation read here is remembered by `documents`, which is what lets
 * a turn that follows take its lock without reading again.
 */
export class CosmosConversations implements ConversationsAndMessages {
  readonly #container: Container;
  readonly #documents: ConversationDocuments;

  constructor(container: Container, documents: ConversationDocuments) {
    this.#container = container;
    this.#documents = documents;
  }

  async createConversation(userId: string, input: NewConversation): Promise<Conversation> {
    const doc: ConversationDocument = {
      ...input, ...titleFields(input.title, titleSourceOf(input)), userId, type: 'conversation', updatedAt: input.createdAt, messageCount: 0, usage: ZERO_USAGE, lastSeq: 0,
      activeTurn: null, recentTurns: [], activeLeafId: null, activePath: [],
    };
    const { resource } = await guard(() => this.#container.items.create(doc));
    const created = resource as ConversationDocument;
    // Its first turn usually follows here: it can plan without reading it or its (no) messages.
    this.#documents.remember(created);
    this.#documents.histories.created(userId, created.id, created._etag);
    return toConversation(created);
  }

  async getConversation(userId: string, conversationId: string): Promise<Conversation | null> {
    const doc = await this.#documents.read(userId, conversationId);
    return doc && !doc.deletedAt ? toConversation(doc) : null;
  }

  async listConversations(userId: string, page: ConversationListRequest): Promise<Page<Conversation>> {
    const query = conversationsQuery(userId, page.titleContains);
    const result = await pageQuery<ConversationDocument>(this.#container, query, userId, page);
    return { items: result.items.map(toConversation), nextCursor: result.nextCursor };
  }

  async updateConversation(
    userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string,
  ): Promise<Conversation> {
    const doc = await this.#documents.modify(userId, conversationId, (d) => {
      if (changes.title !== undefined) Object.assign(d, titleFields(changes.title, 'user'));
      if (changes.systemPrompt !== undefined) d.systemPrompt = changes.systemPrompt;
      if (changes.settings !== undefined) d.settings = { ...d.settings, ...changes.settings };
      if (changes.activeLeaf !== undefined) {
        d.activeLeafId = changes.activeLeaf.id;
        d.activePath = [...changes.activeLeaf.path];
      }
      d.updatedAt = changes.updatedAt;
    }, { ifMatch });
    return toConversation(doc);
  }

  async listMessages(
    userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    const [conversation, result] = await Promise.all([
      this.getConversation(userId, conversationId),
      pageQuery<MessageDocument>(this.#container, messagesQuery(userId, conversationId, page.order === 'desc' ? 'DESC' : 'ASC'), userId, page),
    ]);
    if (!conversation) throw new NotFoundError('No such conversation.');
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>> {
    const result = await pageQuery<MessageDocument>(this.#container, messagesQuery(userId, conversationId, 'DESC'), userId, page);
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async getMessage(userId: string, messageId: string): Promise<Message | null> {
    const doc = await readItem<MessageDocument>(this.#container, messageId, userId);
    return doc && doc.type === 'message' ? toMessage(doc) : null;
  }

  async putMessage(message: Message): Promise<Message> {
    const { histories } = this.#documents;
    const { resource } = await histories.forgetOnThrow(message.userId, message.conversationId,
      guard(() => this.#container.items.upsert(toMessageDocument(message))));
    const stored = toMessage(resource as unknown as MessageDocument);
    histories.changed(stored);
    return stored;
  }

  async settleMessage(message: Message, usage: UsageEntry | null, finish?: TurnOutcome): Promise<boolean> {
    const { userId, conversationId } = message;
    const finishing = finish ? this.#finishing(userId, conversationId, finish) : null;
    if (!usage && !finishing) {
      await this.putMessage(message);
      return false;
    }
    // One partition (the caller's): the ledger's document, the conversation and the message, all or none; the upsert
    // last (see BatchWrite).
    const writes: BatchWrite[] = [];
    if (usage) writes.push({ kind: 'create', body: asJson(usageTurnDocument(userId, usage)) });
    const conversationIndex = writes.length;
    if (finishing) writes.push({ kind: 'replace', body: asJson(finishing.finished), ifMatch: finishing.from._etag ?? '', original: asJson(finishing.from) });
    writes.push({ kind: 'upsert', body: asJson(toMessageDocument(message)) });
    const { histories } = this.#documents;
    const outcome = await histories.forgetOnThrow(userId, conversationId, transactionalBatch(this.#container, userId, writes));
    if (outcome.ok) {
      histories.changed(message);
      if (finishing) this.#rememberFinished(finishing, outcome.results[conversationIndex]);
      return finishing !== null;
    }
    // Changed since this instance wrote it (a rename elsewhere, a delete): the message alone here, and finishTurn reads
    // (at once: the copy it would try first is the one just refused).
    if (finishing && outcome.failedIndex === conversationIndex && (outcome.status === 412 || outcome.status === 404)) {
      this.#documents.forget(userId, conversationId);
      return this.settleMessage(message, usage);
    }
    // Recorded before (an attempt whose answer was lost, or the recovery of a lost turn): the message alone.
    if (usage && outcome.failedIndex === 0 && outcome.status === 409) {
      await this.putMessage(message);
      return false;
    }
    histories.forget(userId, conversationId);
    throw new StoreUnavailableError(`The reply and its usage could not be stored (status ${outcome.status}).`);
  }

  /**
   * The turn's conversation as this instance last wrote it (usually by the turn's own begin batch) and that copy
   * finished, for the settle's write under its etag; null when the copy no longer holds the turn's lock (or there
   * is none), which leaves the finish to finishTurn, which reads.
   */
  #finishing(userId: string, conversationId: string, outcome: TurnOutcome): Finishing | null {
    const from = this.#documents.remembered(userId, conversationId);
    if (!from?._etag || from.deletedAt || from.activeTurn?.turnId !== outcome.turnId) return null;
    const finished = structuredClone(from);
    applyTurnOutcome(finished, outcome);
    return { from, finished };
  }

  /** The finished conversation as stored, remembered so the next turn plans on it (its messages move along). */
  #rememberFinished({ from, finished }: Finishing, result: OperationResponse | undefined): void {
    const stored = (result?.resourceBody as ConversationDocument | undefined) ?? (result?.eTag ? { ...finished, _etag: result.eTag } : null);
    if (!stored) {
      this.#documents.forget(from.userId, from.id);
      return;
    }
    this.#documents.rememberReplaced(from, stored);
  }
}

/**
 * The caller's conversations, newest first; with `titleContains`, only titles containing it as `searchKey` compares
 * them. The search tests the stored `titleKey` (a plain CONTAINS on an indexed field: an index scan within the
 * caller's partition); conversations stored before the field existed are tested on LOWER(title) instead, which
 * folds case but not accents and reads their documents (LOWER uses no index) — once every conversation has been
 * renamed or created since, that branch matches nothing and costs nothing. Its parameters are part of the cursor's
 * scope, so a cursor serves only the search (or the plain list) it came from.
 */
function conversationsQuery(userId: string, titleContains: string | undefined): SqlQuerySpec {
  const live = 'SELECT * FROM c WHERE c.userId = @userId AND c.type = "conversation" AND NOT IS_DEFINED(c.deletedAt) ';
  // The equality filter's field leads the ORDER BY so the (type, updatedAt DESC) composite index serves it.
  const order = 'ORDER BY c.type ASC, c.updatedAt DESC';
  const parameters = [{ name: '@userId', value: userId }];
  if (titleContains === undefined) return { query: live + order, parameters };
  return {
    query:
      `${live}AND (CONTAINS(c.titleKey, @key) OR (NOT IS_DEFINED(c.titleKey) AND CONTAINS(LOWER(c.title), @lower))) ${order}`,
    parameters: [...parameters, { name: '@key', value: searchKey(titleContains) }, { name: '@lower', value: titleContains.toLowerCase() }],
  };
}

function messagesQuery(userId: string, conversationId: string, direction: 'ASC' | 'DESC'): SqlQuerySpec {
  return {
    query:
      'SELECT * FROM c WHERE c.userId = @userId AND c.type = "message" AND c.conversationId = @conversationId ' +
      // Equality fields first: only then can Cosmos serve filter and order from the (type, conversationId, seq)
      // composite index instead of walking the partition's whole seq index.
      `ORDER BY c.type ASC, c.conversationId ASC, c.seq ${direction}`,
    parameters: [
      { name: '@userId', value: userId },
      { name: '@conversationId', value: conversationId },
    ],
  };
}
