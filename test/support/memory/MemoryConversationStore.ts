import type { Conversation, Message, Page } from '../../../src/chat/conversation.js';
import { isSendable, titleSourceOf, ZERO_USAGE } from '../../../src/chat/conversation.js';
import type {
  ConversationChanges, ConversationListRequest, ConversationStore, DiscardedTurn, IdempotencyRecord, MessageLink,
  NewConversation, PageRequest, TurnOutcome, TurnStart, TurnStartResult, TurnView,
} from '../../../src/chat/ConversationStore.js';
import { searchKey } from '../../../src/chat/searchKey.js';
import { onPath, spansTo, type BranchPath, type LaneView } from '../../../src/chat/BranchPath.js';
import { NotFoundError, PreconditionFailedError, StoreUnavailableError } from '../../../src/chat/errors.js';
import { systemClock, type Clock } from '../../../src/chat/ports.js';
import type { UsageEntry, UsageLedger } from '../../../src/chat/UsageLedger.js';
import { cursorScope, decodeCursor, encodeCursor } from '../../../src/store/cursor.js';

/** The contract's idempotency window and how many settled turn ids a conversation remembers, as in the Cosmos store. */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const RECENT_TURNS_KEPT = 32;

interface StoredConversation {
  conversation: Omit<Conversation, 'etag'>;
  version: number;
  recentTurns: string[];
  deletedAt?: string;
}

/**
 * `ConversationStore` in process memory, for tests of the core that need no server. It keeps the port's promises
 * the way the Cosmos adapter keeps them (one caller's data only, etags, the lock and its expiry, the turn start all
 * or nothing, idempotency records for 24 h by the clock, tombstones while a live turn holds a deleted
 * conversation, cursors that are refused outside their list); `test/support/contracts/` holds the suite both pass.
 * Everything a method returns is a copy, as a read from a database is. Nothing is asynchronous inside a method, so
 * each one is atomic, as a conditional write is.
 */
export class MemoryConversationStore implements ConversationStore {
  readonly #clock: Clock;
  readonly #conversations = new Map<string, StoredConversation>();
  readonly #messages = new Map<string, Message>();
  readonly #records = new Map<string, IdempotencyRecord & { readonly userId: string }>();
  readonly #ledger: UsageLedger | undefined;
  #versions = 0;

  /** `ledger`: where `settleMessage` records a turn's usage (the Cosmos adapter writes both in one partition). */
  constructor(clock: Clock = systemClock, ledger?: UsageLedger) {
    this.#clock = clock;
    this.#ledger = ledger;
  }

  async createConversation(userId: string, input: NewConversation): Promise<Conversation> {
    const key = scoped(userId, input.id);
    if (this.#conversations.has(key)) throw new StoreUnavailableError('A conversation with this id exists.');
    const stored: StoredConversation = {
      conversation: {
        ...input, titleSource: titleSourceOf(input), userId, updatedAt: input.createdAt, messageCount: 0, usage: ZERO_USAGE, lastSeq: 0,
        activeTurn: null, activeLeafId: null, activePath: [],
      },
      version: this.#nextVersion(),
      recentTurns: [],
    };
    this.#conversations.set(key, stored);
    return view(stored);
  }

  async getConversation(userId: string, conversationId: string): Promise<Conversation | null> {
    const stored = this.#live(userId, conversationId);
    return stored ? view(stored) : null;
  }

  async listConversations(userId: string, page: ConversationListRequest): Promise<Page<Conversation>> {
    const key = page.titleContains === undefined ? undefined : searchKey(page.titleContains);
    const all = [...this.#conversations.values()]
      .filter((s) => s.conversation.userId === userId && !s.deletedAt)
      .filter((s) => key === undefined || searchKey(s.conversation.title).includes(key))
      .sort((a, b) => b.conversation.updatedAt.localeCompare(a.conversation.updatedAt))
      .map(view);
    return paged(all, page, ['conversations', userId, ...(page.titleContains === undefined ? [] : ['search', page.titleContains])]);
  }

  async setAutoTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null> {
    const stored = this.#live(userId, conversationId);
    if (!stored || stored.conversation.titleSource !== null) return null;
    stored.conversation = { ...stored.conversation, title, titleSource: 'auto' };
    stored.version = this.#nextVersion();
    return view(stored);
  }

  async updateConversation(userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string): Promise<Conversation> {
    const stored = this.#live(userId, conversationId);
    if (!stored) throw new NotFoundError('No such conversation.');
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(stored)) throw new PreconditionFailedError();
    const c = stored.conversation;
    stored.conversation = {
      ...c,
      ...(changes.title !== undefined ? { title: changes.title, titleSource: 'user' as const } : {}),
      ...(changes.systemPrompt !== undefined ? { systemPrompt: changes.systemPrompt } : {}),
      ...(changes.settings !== undefined ? { settings: { ...c.settings, ...changes.settings } } : {}),
      ...(changes.activeLeaf !== undefined ? { activeLeafId: changes.activeLeaf.id, activePath: [...changes.activeLeaf.path] } : {}),
      updatedAt: changes.updatedAt,
    };
    stored.version = this.#nextVersion();
    return view(stored);
  }

  async deleteConversation(userId: string, conversationId: string): Promise<boolean> {
    const stored = this.#conversations.get(scoped(userId, conversationId));
    if (!stored) return false;
    const first = !stored.deletedAt;
    if (first) {
      stored.deletedAt = this.#clock.now().toISOString();
      stored.version = this.#nextVersion();
    }
    this.#purge(userId, conversationId);
    return first;
  }

  async listMessages(userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    if (!this.#live(userId, conversationId)) throw new NotFoundError('No such conversation.');
    return this.#messagePage(userId, conversationId, page.order, page);
  }

  async recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>> {
    return this.#messagePage(userId, conversationId, 'desc', page);
  }

  async getMessage(userId: string, messageId: string): Promise<Message | null> {
    const message = this.#messages.get(scoped(userId, messageId));
    return message ? structuredClone(message) : null;
  }

  async modifyMessage(userId: string, conversationId: string, messageId: string, change: (message: Message) => Message): Promise<Message> {
    const message = this.#messages.get(scoped(userId, messageId));
    if (!message || message.conversationId !== conversationId) throw new NotFoundError('No such message.');
    const next = change(structuredClone(message));
    this.#messages.set(scoped(userId, messageId), structuredClone(next));
    return structuredClone(next);
  }

  async pathMessages(userId: string, conversationId: string, path: BranchPath, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    const sorted = this.#messagesOf(userId, conversationId).filter((m) => onPath(path, m))
      .sort((a, b) => (page.order === 'asc' ? a.seq - b.seq : b.seq - a.seq));
    return paged(sorted.map((m) => structuredClone(m)), page, ['path', userId, conversationId, page.order, JSON.stringify(path)]);
  }

  async countSendableOnPath(userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number> {
    return this.#messagesOf(userId, conversationId).filter((m) => m.seq < seq && onPath(path, m) && isSendable(m)).length;
  }

  async childrenOf(userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<readonly MessageLink[]> {
    return this.#messagesOf(userId, conversationId)
      .filter((m) => m.parentId !== undefined && parentIds.includes(m.parentId))
      .map((m) => ({ id: m.id, parentId: m.parentId ?? null, seq: m.seq }));
  }

  async originalLaneNeighbour(userId: string, conversationId: string, seq: number, side: 'before' | 'after'): Promise<Message | null> {
    const lane = this.#messagesOf(userId, conversationId).filter((m) => m.branch === undefined && (side === 'before' ? m.seq < seq : m.seq > seq));
    lane.sort((a, b) => (side === 'before' ? b.seq - a.seq : a.seq - b.seq));
    return lane[0] ? structuredClone(lane[0]) : null;
  }

  async readLane(userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView> {
    const all = this.#messagesOf(userId, conversationId);
    return {
      members: all.filter((m) => (m.branch ?? null) === branch && m.seq >= fromSeq).map((m) => ({ id: m.id, seq: m.seq })),
      roots: all.flatMap((m) => {
        const fork = m.branch === m.id ? m.forks?.at(-1) : undefined;
        return m.branch && fork && fork.branch === branch && fork.untilSeq >= fromSeq
          ? [{ id: m.id, seq: m.seq, branch: m.branch, forks: m.forks ?? [], forkSeq: fork.untilSeq }]
          : [];
      }),
    };
  }

  /** Nothing to remember: every turn plans on reads. */
  rememberedTurnView(): TurnView | null {
    return null;
  }

  async beginTurn(userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now: Date = this.#clock.now()): Promise<TurnStartResult> {
    // The etag the caller holds is only a hint for adapters that cache; this store always has the current version.
    const stored = this.#live(userId, conversation.id);
    if (!stored) throw new NotFoundError('No such conversation.');
    if (start.planned === 'remembered' && conversation.etag !== etagOf(stored)) return { started: false, reason: 'stale' };
    const held = stored.conversation.activeTurn;
    if (held && held.turnId !== start.turn.turnId && Date.parse(held.expiresAt) > now.getTime()) return { started: false, reason: 'locked' };
    if (start.idempotency) {
      const existing = this.#records.get(recordKey(userId, start.idempotency.conversationId, start.idempotency.key));
      if (existing && !this.#expired(existing)) return { started: false, reason: 'key_taken' };
    }
    const lastSeq = stored.conversation.lastSeq;
    if (start.expectedLastSeq !== undefined && lastSeq !== start.expectedLastSeq) return { started: false, reason: 'locked' };
    const messages = start.messages.map((m, i): Message => ({ ...m, seq: lastSeq + 1 + i }));
    if (messages.some((m) => this.#messages.has(scoped(userId, m.id)))) {
      // Cosmos fails the batch on a create that meets an existing id (409), which its adapter reports as a store failure.
      throw new StoreUnavailableError('The turn could not be stored (a message id exists).');
    }
    if (start.idempotency) this.#records.set(recordKey(userId, start.idempotency.conversationId, start.idempotency.key), { ...start.idempotency, userId });
    for (const m of messages) this.#messages.set(scoped(userId, m.id), structuredClone(m));
    if (start.adopt) this.#messages.set(scoped(userId, start.adopt.id), structuredClone(start.adopt));
    const leaf = messages.at(-1);
    stored.conversation = {
      ...stored.conversation, activeTurn: start.turn, lastSeq: lastSeq + messages.length,
      ...(leaf ? { activeLeafId: leaf.id, activePath: spansTo(leaf) } : {}),
    };
    stored.version = this.#nextVersion();
    return { started: true, conversation: view(stored), messages: structuredClone(messages) };
  }

  async putMessage(message: Message): Promise<Message> {
    this.#messages.set(scoped(message.userId, message.id), structuredClone(message));
    return structuredClone(message);
  }

  /** Never finishes the turn itself (`false`): the core's path through finishTurn is the one these tests run. */
  async settleMessage(message: Message, usage: UsageEntry | null): Promise<boolean> {
    if (usage) {
      if (!this.#ledger) throw new Error('MemoryConversationStore needs a ledger to settle a message with usage.');
      // Nothing is asynchronous in the memory ledger's record, so the pair is all or none as the Cosmos batch is;
      // the ledger keeps a turn's first record, as the batch's create does.
      await this.#ledger.record(message.userId, usage);
    }
    await this.putMessage(message);
    return false;
  }

  async finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void> {
    const stored = this.#conversations.get(scoped(userId, conversationId));
    if (!stored) return;
    const c = stored.conversation;
    const activeTurn = c.activeTurn?.turnId === outcome.turnId ? null : c.activeTurn;
    if (stored.deletedAt) {
      // Deleted while the turn ran: what it wrote after the purge goes now, and with the lock free, the tombstone too.
      stored.conversation = { ...c, activeTurn };
      this.#purge(userId, conversationId);
      return;
    }
    if (stored.recentTurns.includes(outcome.turnId)) {
      stored.conversation = { ...c, activeTurn };
    } else {
      stored.recentTurns = [...stored.recentTurns, outcome.turnId].slice(-RECENT_TURNS_KEPT);
      stored.conversation = {
        ...c,
        activeTurn,
        messageCount: c.messageCount + outcome.messagesAdded,
        usage: {
          promptTokens: c.usage.promptTokens + outcome.usage.promptTokens,
          completionTokens: c.usage.completionTokens + outcome.usage.completionTokens,
          totalTokens: c.usage.totalTokens + outcome.usage.totalTokens,
        },
        updatedAt: outcome.updatedAt > c.updatedAt ? outcome.updatedAt : c.updatedAt,
      };
    }
    stored.version = this.#nextVersion();
  }

  async discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void> {
    if (turn.idempotencyKey !== undefined) {
      const key = recordKey(userId, conversationId, turn.idempotencyKey);
      if (this.#records.get(key)?.turnId === turn.turnId) this.#records.delete(key);
    }
    for (const id of turn.messageIds) this.#messages.delete(scoped(userId, id));
  }

  async getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null> {
    const record = this.#records.get(recordKey(userId, conversationId, key));
    if (!record || this.#expired(record)) return null;
    const { userId: _userId, ...rest } = record;
    return { ...rest };
  }

  async sweepDeleted(): Promise<number> {
    let finished = 0;
    for (const stored of [...this.#conversations.values()]) {
      if (stored.deletedAt && this.#purge(stored.conversation.userId, stored.conversation.id)) finished += 1;
    }
    return finished;
  }

  async ping(): Promise<void> {}

  #nextVersion(): number {
    this.#versions += 1;
    return this.#versions;
  }

  #live(userId: string, conversationId: string): StoredConversation | null {
    const stored = this.#conversations.get(scoped(userId, conversationId));
    return stored && !stored.deletedAt ? stored : null;
  }

  #expired(record: Pick<IdempotencyRecord, 'createdAt'>): boolean {
    return this.#clock.now().getTime() - Date.parse(record.createdAt) > IDEMPOTENCY_WINDOW_MS;
  }

  #messagesOf(userId: string, conversationId: string): Message[] {
    return [...this.#messages.values()].filter((m) => m.userId === userId && m.conversationId === conversationId);
  }

  #messagePage(userId: string, conversationId: string, order: 'asc' | 'desc', page: PageRequest): Page<Message> {
    const sorted = this.#messagesOf(userId, conversationId).sort((a, b) => (order === 'asc' ? a.seq - b.seq : b.seq - a.seq));
    return paged(sorted.map((m) => structuredClone(m)), page, ['messages', userId, conversationId, order]);
  }

  /** The conversation's messages and records go; its document too unless a live turn still holds the lock. */
  #purge(userId: string, conversationId: string): boolean {
    for (const [key, m] of this.#messages) if (m.userId === userId && m.conversationId === conversationId) this.#messages.delete(key);
    for (const [key, r] of this.#records) if (r.userId === userId && r.conversationId === conversationId) this.#records.delete(key);
    const stored = this.#conversations.get(scoped(userId, conversationId));
    const turn = stored?.conversation.activeTurn;
    if (turn && Date.parse(turn.expiresAt) > this.#clock.now().getTime()) return false;
    this.#conversations.delete(scoped(userId, conversationId));
    return true;
  }
}

function scoped(userId: string, id: string): string {
  return JSON.stringify([userId, id]);
}

function recordKey(userId: string, conversationId: string, key: string): string {
  return JSON.stringify([userId, conversationId, key]);
}

function etagOf(stored: StoredConversation): string {
  return `v${stored.version}`;
}

function view(stored: StoredConversation): Conversation {
  return structuredClone({ ...stored.conversation, etag: etagOf(stored) });
}

/** An offset into the sorted list, in a cursor scoped to that list as the Cosmos store scopes its own. */
function paged<T>(items: readonly T[], page: PageRequest, list: readonly string[]): Page<T> {
  const scope = cursorScope('memory', list);
  const token = decodeCursor(page.cursor, scope);
  const from = token === undefined ? 0 : Number(token);
  const to = from + page.limit;
  return { items: items.slice(from, to), nextCursor: to < items.length ? encodeCursor(String(to), scope) : null };
}
