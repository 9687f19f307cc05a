import { createHash } from 'node:crypto';
import type { Container, ItemDefinition, JSONObject, SqlQuerySpec } from '@azure/cosmos';
import type { Conversation, Message, Page } from '../chat/conversation.js';
import { ZERO_USAGE } from '../chat/conversation.js';
import type {
  ConversationChanges, ConversationStore, DiscardedTurn, IdempotencyRecord, NewConversation, PageRequest, TurnOutcome,
  TurnStart, TurnStartResult,
} from '../chat/ConversationStore.js';
import { type ChatError, NotFoundError, PreconditionFailedError, StoreUnavailableError } from '../chat/errors.js';
import { transactionalBatch, type BatchWrite } from './cosmosBatch.js';
import { queryPartition } from './cosmosQuery.js';
import { RecentMap } from './RecentMap.js';
import { systemClock, type Clock } from '../chat/ports.js';
import { cosmosStatus, guard, toChatError } from './cosmosErrors.js';
import { readItem } from './readItem.js';
import { cursorScope, decodeCursor, encodeCursor, unknownCursor } from './cursor.js';
import type { ConversationDocument, IdempotencyDocument, MessageDocument } from './documents.js';
import { toConversation, toIdempotencyRecord, toMessage, toMessageDocument, usageTurnDocument } from './documents.js';
import type { UsageEntry } from '../chat/UsageLedger.js';
import type { MessageLink } from '../chat/ConversationStore.js';
import { spansTo, type BranchPath, type LaneView } from '../chat/BranchPath.js';
import * as branches from './branchQueries.js';

const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
const RECENT_TURNS_KEPT = 32;
const OPTIMISTIC_RETRIES = 8;
/** Conversation documents remembered from their last read, so a turn can take its lock without reading again. */
// Whole documents (a system prompt may be 100K characters): kept few.
const LAST_READ_KEPT = 256;

/** Conversations, messages and idempotency records in one Cosmos container partitioned by `/userId`. */
export class CosmosConversationStore implements ConversationStore {
  readonly #container: Container;
  readonly #clock: Clock;
  /** The last document read per conversation (insertion order = age). Only ever used under its own etag. */
  readonly #lastRead = new RecentMap<string, ConversationDocument>(LAST_READ_KEPT);

  /** `clock` is the one the turn uses: lock expiry, tombstones and idempotency windows are all read against it. */
  constructor(container: Container, clock: Clock = systemClock) {
    this.#container = container;
    this.#clock = clock;
  }

  async createConversation(userId: string, input: NewConversation): Promise<Conversation> {
    const doc: ConversationDocument = {
      ...input,
      userId,
      type: 'conversation',
      updatedAt: input.createdAt,
      messageCount: 0,
      usage: ZERO_USAGE,
      lastSeq: 0,
      activeTurn: null,
      recentTurns: [],
      activeLeafId: null,
      activePath: [],
    };
    const { resource } = await guard(() => this.#container.items.create(doc));
    return toConversation(resource as ConversationDocument);
  }

  async getConversation(userId: string, conversationId: string): Promise<Conversation | null> {
    const doc = await this.#readConversation(userId, conversationId);
    return doc && !doc.deletedAt ? toConversation(doc) : null;
  }

  async listConversations(userId: string, page: PageRequest): Promise<Page<Conversation>> {
    const result = await this.#page<ConversationDocument>(
      {
        query:
          'SELECT * FROM c WHERE c.userId = @userId AND c.type = "conversation" AND NOT IS_DEFINED(c.deletedAt) ' +
          // The equality filter's field leads the ORDER BY so the (type, updatedAt DESC) composite index serves it.
          'ORDER BY c.type ASC, c.updatedAt DESC',
        parameters: [{ name: '@userId', value: userId }],
      },
      userId,
      page,
    );
    return { items: result.items.map(toConversation), nextCursor: result.nextCursor };
  }

  async updateConversation(
    userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string,
  ): Promise<Conversation> {
    return this.#modifyConversation(userId, conversationId, ifMatch, (doc) => {
      if (changes.title !== undefined) doc.title = changes.title;
      if (changes.systemPrompt !== undefined) doc.systemPrompt = changes.systemPrompt;
      if (changes.settings !== undefined) doc.settings = { ...doc.settings, ...changes.settings };
      if (changes.activeLeaf !== undefined) {
        doc.activeLeafId = changes.activeLeaf.id;
        doc.activePath = [...changes.activeLeaf.path];
      }
      doc.updatedAt = changes.updatedAt;
    }).then((doc) => toConversation(doc));
  }

  async deleteConversation(userId: string, conversationId: string): Promise<boolean> {
    for (let attempt = 0; attempt < OPTIMISTIC_RETRIES; attempt += 1) {
      const doc = await this.#readConversation(userId, conversationId);
      if (!doc) return false;
      if (doc.deletedAt) {
        // Already gone for the client (every read says 404, so this does too); finish what an earlier delete left.
        await this.#purge(userId, doc);
        return false;
      }
      // Hide it from every read first: if this instance dies below, nothing half-exists for the client. The etag
      // keeps a turn lock taken meanwhile from being overwritten (the purge below must see it).
      doc.deletedAt = this.#clock.now().toISOString();
      try {
        await this.#container.item(doc.id, userId).replace(doc, { accessCondition: { type: 'IfMatch', condition: doc._etag ?? '' } });
      } catch (error) {
        if (cosmosStatus(error) === 412) continue;
        return guard(() => Promise.reject(error));
      }
      await this.#purge(userId, doc);
      return true;
    }
    throw new PreconditionFailedError('The conversation kept changing; try again.');
  }

  async listMessages(
    userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    const direction = page.order === 'desc' ? 'DESC' : 'ASC';
    const [conversation, result] = await Promise.all([
      this.getConversation(userId, conversationId),
      this.#page<MessageDocument>(this.#messagesQuery(userId, conversationId, direction), userId, page),
    ]);
    if (!conversation) throw new NotFoundError('No such conversation.');
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>> {
    const result = await this.#page<MessageDocument>(this.#messagesQuery(userId, conversationId, 'DESC'), userId, page);
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async countSendableBefore(userId: string, conversationId: string, seq: number): Promise<number> {
    const older = 'SELECT VALUE COUNT(1) FROM c WHERE c.userId = @userId AND c.type = "message" AND c.conversationId = @conversationId AND c.seq < @seq ';
    // Two queries, so the first stays answerable from the index alone (an OR with the second would make Cosmos load
    // every older document). The second finds only messages written before the flag existed, judged as isSendable
    // judges them; IS_DEFINED is served by the range index, so it costs little once every message has the flag.
    const counts = await Promise.all([
      queryPartition<number>(this.#container, userId, `${older}AND c.sendable = true`, { conversationId, seq }),
      queryPartition<number>(
        this.#container, userId,
        `${older}AND NOT IS_DEFINED(c.sendable) AND c.status != "failed" AND LENGTH(TRIM(c.content)) > 0`,
        { conversationId, seq },
      ),
    ]);
    return counts.flat().reduce((sum, n) => sum + n, 0);
  }

  async getMessage(userId: string, messageId: string): Promise<Message | null> {
    const doc = await this.#read<MessageDocument>(messageId, userId);
    return doc && doc.type === 'message' ? toMessage(doc) : null;
  }

  async pathMessages(
    userId: string, conversationId: string, path: BranchPath, page: PageRequest & { readonly order: 'asc' | 'desc' },
  ): Promise<Page<Message>> {
    const query = branches.pathQuery(userId, conversationId, path, page.order === 'desc' ? 'DESC' : 'ASC');
    if (!path.lanes.length) {
      // No branch (an empty conversation): nothing to query, but a cursor of another list is still refused.
      decodeCursor(page.cursor, cursorScope(query.query, query.parameters ?? []));
      return { items: [], nextCursor: null };
    }
    const result = await this.#page<MessageDocument>(query, userId, page);
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async countSendableOnPath(userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number> {
    if (!path.lanes.length) return 0;
    return branches.countSendableOnPath(this.#container, userId, conversationId, path, seq);
  }

  childrenOf(userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<readonly MessageLink[]> {
    return branches.childrenOf(this.#container, userId, conversationId, parentIds);
  }

  originalLaneNeighbour(userId: string, conversationId: string, seq: number, side: 'before' | 'after'): Promise<Message | null> {
    return branches.originalLaneNeighbour(this.#container, userId, conversationId, seq, side);
  }

  readLane(userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView> {
    return branches.readLane(this.#container, userId, conversationId, branch, fromSeq);
  }

  async beginTurn(
    userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now: Date = this.#clock.now(),
  ): Promise<TurnStartResult> {
    for (let attempt = 0; attempt < OPTIMISTIC_RETRIES; attempt += 1) {
      // First try: the document the caller just read (same etag), saving a round trip before the model call. The
      // replace is conditional on that etag, so a stale copy only costs a failed batch and a fresh read.
      const doc = (attempt === 0 ? this.#remembered(userId, conversation) : null) ?? (await this.#readConversation(userId, conversation.id));
      if (!doc || doc.deletedAt) throw new NotFoundError('No such conversation.');
      const held = doc.activeTurn;
      if (held && held.turnId !== start.turn.turnId && Date.parse(held.expiresAt) > now.getTime()) {
        return { started: false, reason: 'locked' };
      }
      if (start.expectedLastSeq !== undefined && doc.lastSeq !== start.expectedLastSeq) return { started: false, reason: 'locked' };
      const messages = start.messages.map((m, i): Message => ({ ...m, seq: doc.lastSeq + 1 + i }));
      const leaf = messages.at(-1);
      const locked: ConversationDocument = {
        ...doc, activeTurn: start.turn, lastSeq: doc.lastSeq + messages.length,
        ...(leaf ? { activeLeafId: leaf.id, activePath: spansTo(leaf) } : {}),
      };
      const writes: BatchWrite[] = [];
      // The key first: a key another request recorded fails the batch before anything else is attempted.
      if (start.idempotency) writes.push({ kind: 'create', body: asJson(idempotencyDocument(userId, start.idempotency)) });
      const lockIndex = writes.length;
      writes.push({ kind: 'replace', body: asJson(locked), ifMatch: doc._etag ?? '', original: asJson(doc) });
      for (const message of messages) writes.push({ kind: 'create', body: asJson(toMessageDocument(message)) });
      if (start.adopt) writes.push({ kind: 'upsert', body: asJson(toMessageDocument(start.adopt)) });

      const outcome = await transactionalBatch(this.#container, userId, writes);
      if (outcome.ok) {
        const stored = outcome.results[lockIndex]?.resourceBody as ConversationDocument | undefined;
        const etag = outcome.results[lockIndex]?.eTag;
        const result = stored ?? { ...locked, ...(etag ? { _etag: etag } : {}) };
        this.#remember(result);
        return { started: true, conversation: toConversation(result), messages };
      }
      if (outcome.failedIndex === lockIndex && (outcome.status === 412 || outcome.status === 404)) continue;
      if (start.idempotency && outcome.failedIndex === 0 && outcome.status === 409) {
        if (!(await this.#removeExpiredRecord(userId, start.idempotency))) return { started: false, reason: 'key_taken' };
        continue;
      }
      throw new StoreUnavailableError(`The turn could not be stored (status ${outcome.status}).`);
    }
    return { started: false, reason: 'locked' };
  }

  async putMessage(message: Message): Promise<Message> {
    const { resource } = await guard(() => this.#container.items.upsert(toMessageDocument(message)));
    return toMessage(resource as unknown as MessageDocument);
  }

  async settleMessage(message: Message, usage: UsageEntry | null): Promise<void> {
    if (!usage) {
      await this.putMessage(message);
      return;
    }
    // One partition (the caller's): the ledger's document and the message, all or none; the upsert last (see BatchWrite).
    const outcome = await transactionalBatch(this.#container, message.userId, [
      { kind: 'create', body: asJson(usageTurnDocument(message.userId, usage)) },
      { kind: 'upsert', body: asJson(toMessageDocument(message)) },
    ]);
    if (outcome.ok) return;
    // Recorded before (an attempt whose answer was lost, or the recovery of a lost turn): the message alone.
    if (outcome.failedIndex === 0 && outcome.status === 409) {
      await this.putMessage(message);
      return;
    }
    throw new StoreUnavailableError(`The reply and its usage could not be stored (status ${outcome.status}).`);
  }

  async finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void> {
    try {
      // This instance wrote the conversation last when it took the lock: that copy usually still holds.
      await this.#modifyConversation(userId, conversationId, undefined, (doc) => {
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
      }, { fromMemory: true });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      // Deleted while this turn ran: its last messages were written after the purge. This turn writes nothing
      // more, so the delete can now finish (its lock released: the tombstone goes too, unless another turn holds it).
      const tombstone = await this.#readConversation(userId, conversationId);
      if (tombstone?.deletedAt) {
        const activeTurn = tombstone.activeTurn?.turnId === outcome.turnId ? null : tombstone.activeTurn;
        await this.#purge(userId, { ...tombstone, activeTurn });
      }
    }
  }

  async discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void> {
    // The idempotency record first: left pointing at deleted messages, it would answer every retry 404. Only this
    // turn's own: a record a concurrent request with the same key created belongs to that request.
    if (turn.idempotencyKey !== undefined) {
      const id = idempotencyId(conversationId, turn.idempotencyKey);
      const record = await this.#read<IdempotencyDocument>(id, userId);
      if (record?.turnId === turn.turnId) await this.#deleteIfExists(id, userId);
    }
    await Promise.all(turn.messageIds.map((id) => this.#deleteIfExists(id, userId)));
  }

  async getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null> {
    const doc = await this.#read<IdempotencyDocument>(idempotencyId(conversationId, key), userId);
    if (!doc || doc.type !== 'idempotency' || this.#expired(doc)) return null;
    return toIdempotencyRecord(doc);
  }

  /** Past the contract's 24 hours (Cosmos removes it by `ttl`; the embedded store never does). */
  #expired(record: Pick<IdempotencyRecord, 'createdAt'>): boolean {
    return this.#clock.now().getTime() - Date.parse(record.createdAt) > IDEMPOTENCY_TTL_SECONDS * 1000;
  }

  /** A record past its window that Cosmos has not removed yet (the embedded store has no TTL) gives way to a new one. */
  async #removeExpiredRecord(userId: string, record: IdempotencyRecord): Promise<boolean> {
    const id = idempotencyId(record.conversationId, record.key);
    const existing = await this.#read<IdempotencyDocument & { _etag?: string }>(id, userId);
    if (!existing) return true;
    if (!this.#expired(existing)) return false;
    try {
      await this.#container.item(id, userId).delete({ accessCondition: { type: 'IfMatch', condition: existing._etag ?? '' } });
    } catch (error) {
      const status = cosmosStatus(error);
      if (status !== 404 && status !== 412) await guard(() => Promise.reject(error));
    }
    return true;
  }

  async sweepDeleted(): Promise<number> {
    const { resources } = await guard(() =>
      this.#container.items
        .query<ConversationDocument>('SELECT * FROM c WHERE c.type = "conversation" AND IS_DEFINED(c.deletedAt)')
        .fetchAll(),
    );
    let finished = 0;
    for (const doc of resources) if (await this.#purge(doc.userId, doc)) finished += 1;
    return finished;
  }

  async ping(): Promise<void> {
    await guard(() => this.#container.read());
  }

  #messagesQuery(userId: string, conversationId: string, direction: 'ASC' | 'DESC'): SqlQuerySpec {
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

  /**
   * Deletes a deleted conversation's messages and idempotency records, then its document. While a live turn still
   * holds the lock, the document stays as a tombstone (invisible to reads): that turn may still write its messages,
   * and its `finishTurn`, or a later sweep once the lock has expired, purges again. Returns true when all is gone.
   */
  async #purge(userId: string, tombstone: ConversationDocument): Promise<boolean> {
    const conversationId = tombstone.id;
    // The conversation's own documents only: usage spent in it outlives it.
    const resources = await queryPartition<{ id: string }>(
      this.#container, userId,
      'SELECT c.id FROM c WHERE c.userId = @userId AND c.conversationId = @conversationId AND c.type IN ("message", "idempotency")',
      { conversationId },
    );
    for (let i = 0; i < resources.length; i += 16) {
      await Promise.all(resources.slice(i, i + 16).map(({ id }) => this.#deleteIfExists(id, userId)));
    }
    const turn = tombstone.activeTurn;
    if (turn && Date.parse(turn.expiresAt) > this.#clock.now().getTime()) return false;
    await this.#deleteIfExists(conversationId, userId);
    return true;
  }

  async #deleteIfExists(id: string, userId: string): Promise<void> {
    try {
      await this.#container.item(id, userId).delete();
    } catch (error) {
      if (cosmosStatus(error) !== 404) await guard(() => Promise.reject(error));
    }
  }

  async #readConversation(userId: string, conversationId: string): Promise<ConversationDocument | null> {
    const doc = await this.#read<ConversationDocument>(conversationId, userId);
    if (!doc || doc.type !== 'conversation' || doc.userId !== userId) return null;
    this.#remember(doc);
    return doc;
  }

  #remember(doc: ConversationDocument): void {
    const key = `${doc.userId}\n${doc.id}`;
    // Only ever used under its etag: a copy without one could make a conditional replace unconditional.
    if (doc._etag) this.#lastRead.set(key, structuredClone(doc));
    else this.#lastRead.delete(key);
  }

  /** A copy of the remembered document if it is the version the caller holds (same etag), else null. */
  #remembered(userId: string, conversation: Pick<Conversation, 'id'> & Partial<Pick<Conversation, 'etag'>>): ConversationDocument | null {
    const doc = this.#lastRead.get(`${userId}\n${conversation.id}`);
    if (!doc || conversation.etag === undefined || (doc._etag ?? '').replace(/"/g, '') !== conversation.etag) return null;
    return structuredClone(doc);
  }

  #read<T extends ItemDefinition>(id: string, userId: string): Promise<T | null> {
    return readItem<T>(this.#container, id, userId);
  }

  /** Read-modify-write with the document's etag, retried on a concurrent change unless the caller sent If-Match. */
  async #modifyConversation(
    userId: string, conversationId: string, ifMatch: string | undefined, change: (doc: ConversationDocument) => void,
    { fromMemory = false } = {},
  ): Promise<ConversationDocument> {
    for (let attempt = 0; attempt < OPTIMISTIC_RETRIES; attempt += 1) {
      // From memory, a stale copy only costs a 412 and a read: the replace is conditional on its etag.
      const remembered = fromMemory && attempt === 0 ? this.#lastRead.get(`${userId}\n${conversationId}`) : undefined;
      const doc = remembered ? structuredClone(remembered) : await this.#readConversation(userId, conversationId);
      if (!doc || doc.deletedAt) throw new NotFoundError('No such conversation.');
      const current = doc._etag ?? '';
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== current.replace(/"/g, '')) {
        throw new PreconditionFailedError();
      }
      change(doc);
      try {
        const { resource } = await this.#container
          .item(doc.id, userId)
          .replace(doc, { accessCondition: { type: 'IfMatch', condition: current } });
        this.#remember(resource as ConversationDocument);
        return resource as ConversationDocument;
      } catch (error) {
        if (cosmosStatus(error) !== 412) return guard(() => Promise.reject(error));
        if (ifMatch !== undefined && ifMatch !== '*') throw new PreconditionFailedError();
      }
    }
    throw new PreconditionFailedError('The conversation kept changing; try again.');
  }

  async #page<T>(query: SqlQuerySpec, userId: string, page: PageRequest): Promise<Page<T>> {
    const scope = cursorScope(query.query, query.parameters ?? []);
    const continuationToken = decodeCursor(page.cursor, scope);
    const fetch = (token: string | undefined, limit: number) =>
      this.#container.items.query<T>(query, { partitionKey: userId, maxItemCount: limit, continuationToken: token }).fetchNext();
    let response: Awaited<ReturnType<typeof fetch>>;
    try {
      response = await fetch(continuationToken, page.limit);
    } catch (error) {
      throw await this.#pageFailure(error, continuationToken === undefined ? undefined : () => fetch(undefined, 1));
    }
    return { items: response.resources.slice(0, page.limit), nextCursor: encodeCursor(response.continuationToken, scope) };
  }

  /**
   * Why a page failed. A client's continuation token that passed the scope check (whoever knows the code can make
   * one) can still be garbage the SDK throws on, or the store refuses: the query itself is fixed and known to work,
   * so if it runs without the token, the token was at fault (400); if it does not, the store is (503). A store that
   * answered with a status other than 400 (throttling, 5xx) is the store's failure either way.
   */
  async #pageFailure(error: unknown, withoutCursor: (() => Promise<unknown>) | undefined): Promise<ChatError> {
    const chat = toChatError(error);
    const status = cosmosStatus(error);
    if (withoutCursor === undefined || chat.code !== 'store_unavailable' || (status !== undefined && status !== 400)) return chat;
    try {
      await withoutCursor();
    } catch {
      return chat;
    }
    return unknownCursor();
  }
}

function idempotencyDocument(userId: string, record: IdempotencyRecord): IdempotencyDocument {
  return { ...record, id: idempotencyId(record.conversationId, record.key), userId, type: 'idempotency', ttl: IDEMPOTENCY_TTL_SECONDS };
}

function asJson(document: object): JSONObject {
  return document as unknown as JSONObject;
}

function idempotencyId(conversationId: string, key: string): string {
  return `i_${createHash('sha256').update(`${conversationId}\n${key}`).digest('base64url')}`;
}
