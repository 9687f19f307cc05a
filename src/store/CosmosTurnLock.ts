import { createHash } from 'node:crypto';
import { spansTo } from '../chat/BranchPath.js';
import type { Container } from '@azure/cosmos';
import type { Conversation, Message } from '../chat/conversation.js';
import type { ConversationStore, DiscardedTurn, IdempotencyRecord, TurnOutcome, TurnStart, TurnStartResult } from '../chat/ConversationStore.js';
import { NotFoundError, StoreUnavailableError } from '../chat/errors.js';
import type { Clock } from '../chat/ports.js';
import { asJson, transactionalBatch, type BatchWrite } from './cosmosBatch.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import type { CosmosDeletion } from './CosmosDeletion.js';
import type { ConversationDocuments } from './ConversationDocuments.js';
import { deleteItem } from './deleteItem.js';
import type { ConversationDocument, IdempotencyDocument } from './documents.js';
import { toConversation, toIdempotencyRecord, toMessageDocument } from './documents.js';
import { AGAIN, optimistically } from './optimistically.js';
import { readItem } from './readItem.js';
import { applyTurnOutcome } from './turnOutcome.js';

const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
const LOCKED: TurnStartResult = { started: false, reason: 'locked' };
const STALE: TurnStartResult = { started: false, reason: 'stale' };

/**
 * A turn's hold on its conversation: the lock with the turn's first messages and idempotency record (one batch),
 * the finish that adds its totals and frees the lock, the undo of a start whose answer was lost, and the records'
 * 24-hour window. Together because the lock and the key are written in the same batch and raced the same way.
 */
export class CosmosTurnLock implements Pick<ConversationStore, 'beginTurn' | 'finishTurn' | 'discardTurn' | 'getIdempotencyRecord'> {
  readonly #container: Container;
  readonly #clock: Clock;
  readonly #documents: ConversationDocuments;
  readonly #deletion: CosmosDeletion;

  constructor(container: Container, clock: Clock, documents: ConversationDocuments, deletion: CosmosDeletion) {
    this.#container = container;
    this.#clock = clock;
    this.#documents = documents;
    this.#deletion = deletion;
  }

  async beginTurn(
    userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now: Date = this.#clock.now(),
  ): Promise<TurnStartResult> {
    return optimistically(async (attempt): Promise<TurnStartResult | typeof AGAIN> => {
      // First try: the version the caller just read (same etag), saving a round trip before the model call. The
      // replace is conditional on that etag, so a stale copy only costs a failed batch and a fresh read. A turn
      // planned on the remembered version is decided on nothing newer: a change since is for the core to plan on.
      const remembered = attempt === 0 ? this.#documents.remembered(userId, conversation.id, conversation.etag) : null;
      if (!remembered && start.planned === 'remembered') return STALE;
      const doc = remembered ?? (await this.#documents.read(userId, conversation.id));
      if (!doc || doc.deletedAt) throw new NotFoundError('No such conversation.');
      const held = doc.activeTurn;
      if (held && held.turnId !== start.turn.turnId && Date.parse(held.expiresAt) > now.getTime()) return LOCKED;
      if (start.expectedLastSeq !== undefined && doc.lastSeq !== start.expectedLastSeq) return LOCKED;
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
      // Last: an upsert cannot be undone (see BatchWrite); it only adds the parentId the message always had.
      if (start.adopt) writes.push({ kind: 'upsert', body: asJson(toMessageDocument(start.adopt)) });

      const { histories } = this.#documents;
      const outcome = await histories.forgetOnThrow(userId, conversation.id, transactionalBatch(this.#container, userId, writes));
      if (outcome.ok) {
        const stored = outcome.results[lockIndex]?.resourceBody as ConversationDocument | undefined;
        const etag = outcome.results[lockIndex]?.eTag;
        const result = stored ?? { ...locked, ...(etag ? { _etag: etag } : {}) };
        histories.started(userId, conversation.id, doc._etag, result._etag, messages, start.adopt);
        // What finishTurn starts from.
        this.#documents.remember(result);
        return { started: true, conversation: toConversation(result), messages };
      }
      if (outcome.failedIndex === lockIndex && (outcome.status === 412 || outcome.status === 404)) return start.planned === 'remembered' ? STALE : AGAIN;
      if (start.idempotency && outcome.failedIndex === 0 && outcome.status === 409) {
        return (await this.#removeExpiredRecord(userId, start.idempotency)) ? AGAIN : { started: false, reason: 'key_taken' };
      }
      histories.forget(userId, conversation.id);
      throw new StoreUnavailableError(`The turn could not be stored (status ${outcome.status}).`);
    }, () => LOCKED);
  }

  async finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void> {
    try {
      // This instance wrote the conversation last when it took the lock: that copy usually still holds.
      await this.#documents.modify(userId, conversationId, (doc) => applyTurnOutcome(doc, outcome), { fromMemory: true });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      await this.#deletion.finishAfterTurn(userId, conversationId, outcome.turnId);
    }
  }

  async discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void> {
    this.#documents.histories.forget(userId, conversationId);
    // The idempotency record first: left pointing at deleted messages, it would answer every retry 404. Only this
    // turn's own: a record a concurrent request with the same key created belongs to that request.
    if (turn.idempotencyKey !== undefined) {
      const id = idempotencyId(conversationId, turn.idempotencyKey);
      const record = await readItem<IdempotencyDocument>(this.#container, id, userId);
      if (record?.turnId === turn.turnId) await deleteItem(this.#container, id, userId);
    }
    await Promise.all(turn.messageIds.map((id) => deleteItem(this.#container, id, userId)));
  }

  async getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null> {
    const doc = await readItem<IdempotencyDocument>(this.#container, idempotencyId(conversationId, key), userId);
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
    const existing = await readItem<IdempotencyDocument & { _etag?: string }>(this.#container, id, userId);
    if (!existing) return true;
    if (!this.#expired(existing)) return false;
    try {
      await this.#container.item(id, userId).delete({ accessCondition: { type: 'IfMatch', condition: existing._etag ?? '' } });
    } catch (error) {
      // Gone, or replaced by a new record meanwhile: the next attempt finds out which.
      const status = cosmosStatus(error);
      if (status !== 404 && status !== 412) throw toChatError(error);
    }
    return true;
  }
}

function idempotencyDocument(userId: string, record: IdempotencyRecord): IdempotencyDocument {
  return { ...record, id: idempotencyId(record.conversationId, record.key), userId, type: 'idempotency', ttl: IDEMPOTENCY_TTL_SECONDS };
}

function idempotencyId(conversationId: string, key: string): string {
  return `i_${createHash('sha256').update(`${conversationId}\n${key}`).digest('base64url')}`;
}
