import type { ActiveTurn, Conversation, ConversationSettings, Message, Page, TitleSource, Usage } from './conversation.js';
import type { UsageEntry } from './UsageLedger.js';
import type { BranchPath, LaneSpan, LaneView } from './BranchPath.js';

export interface NewConversation {
  readonly id: string;
  readonly title: string;
  readonly model: string;
  readonly systemPrompt: string | null;
  readonly settings: ConversationSettings;
  readonly createdAt: string;
  /** `user` when the client gave the title, null for the placeholder; absent: judged by `titleSourceOf`. */
  readonly titleSource?: TitleSource | null | undefined;
}

/** A change through the routes: a `title` given here is the client's (`titleSource` becomes `user`). */
export interface ConversationChanges {
  readonly title?: string;
  readonly systemPrompt?: string | null;
  readonly settings?: ConversationSettings;
  /** The branch the conversation shows: its leaf and the lanes to it (PATCH `activeMessageId`). */
  readonly activeLeaf?: { readonly id: string; readonly path: readonly LaneSpan[] };
  readonly updatedAt: string;
}

/**
 * A page of a list: at most `limit` items. `cursor` is a `nextCursor` the same list returned (same caller,
 * conversation and order); any other cursor is a ValidationError. A page may hold fewer than `limit` items while
 * more follow, and the last page may be empty: a reader follows `nextCursor` until it is null.
 */
export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/**
 * The conversation list, optionally only those whose title contains `titleContains` as `searchKey` compares them
 * (case and accents ignored); the cursor of one search serves only that search.
 */
export interface ConversationListRequest extends PageRequest {
  readonly titleContains?: string | undefined;
}

/** What a finished turn adds to its conversation. */
export interface TurnOutcome {
  readonly turnId: string;
  readonly usage: Usage;
  readonly messagesAdded: number;
  readonly updatedAt: string;
}

/** The record that makes a POST with an `Idempotency-Key` replayable. */
export interface IdempotencyRecord {
  readonly key: string;
  readonly conversationId: string;
  readonly requestHash: string;
  readonly turnId: string;
  readonly userMessageId: string;
  readonly assistantMessageId: string;
  readonly createdAt: string;
}

/** What a turn writes before the model is called, in one all-or-nothing step. */
export interface TurnStart {
  readonly turn: ActiveTurn;
  /** The user message and the assistant placeholder, in order; the store numbers them after the conversation's last. */
  readonly messages: readonly Omit<Message, 'seq'>[];
  /** Recorded with the turn when the request carried an `Idempotency-Key`. */
  readonly idempotency?: IdempotencyRecord | undefined;
  /**
   * The conversation's `lastSeq` the turn planned with: if a message was added since, the turn is refused as
   * `locked` (its new message could otherwise join a lane that grew meanwhile, and the lane would fork).
   */
  readonly expectedLastSeq?: number | undefined;
  /** A message stored before branches, written again in the same step with the `parentId` it gains (a sibling is added). */
  readonly adopt?: Message | undefined;
  /**
   * The turn was planned on {@link ConversationStore.rememberedTurnView}, not on reads: if the conversation is no
   * longer that version (its etag), nothing is decided on it and the start answers `stale`.
   */
  readonly planned?: 'remembered' | undefined;
}

/** A conversation and all its messages as this instance last wrote or read them, under one etag. */
export interface TurnView {
  readonly conversation: Conversation;
  /** The newest messages, newest first: all of them (`nextCursor` null), as `recentMessages` would return them. */
  readonly newestPage: Page<Message>;
}

/** A message's place in the tree, as sibling reads return it. */
export interface MessageLink {
  readonly id: string;
  readonly parentId: string | null;
  readonly seq: number;
}

export type TurnStartResult =
  | { readonly started: true; readonly conversation: Conversation; readonly messages: readonly Message[] }
  /**
   * `locked`: another live turn holds the conversation; `key_taken`: a live record for the same key exists; `stale`
   * (only for a start `planned` on a remembered view): the conversation changed since, plan again on reads.
   */
  | { readonly started: false; readonly reason: 'locked' | 'key_taken' | 'stale' };

/** What {@link ConversationStore.discardTurn} removes. */
export interface DiscardedTurn {
  readonly turnId: string;
  readonly messageIds: readonly string[];
  readonly idempotencyKey?: string | undefined;
}

/**
 * Persistence of conversations and messages, always scoped to the caller: every method takes the user id and
 * never returns another user's data. Deleted (or half-deleted) conversations are invisible to every read.
 *
 * Caching: an adapter may keep, per instance, the last version it read or wrote of recent conversations, and use
 * it instead of a read in three places only: {@link beginTurn} when `conversation.etag` is the remembered version's
 * (the caller has just read it), the first attempt of {@link finishTurn} (usually the version this instance's
 * `beginTurn` wrote), and {@link rememberedTurnView}, which a turn may plan on instead of reading the conversation
 * and its history. Every write made from memory is conditional on that version's etag, so a stale copy (another
 * instance or request changed the conversation since) costs one refused write and a fresh read (for a turn planned
 * on a view: `stale`, and the core plans again on reads), never a lost change: no result depends on the memory,
 * only the number of round trips on the turn path does (`npm run bench` counts them). Every other method asks the
 * store. The Cosmos adapter remembers up to 256 conversations per instance, and the messages of the smaller ones
 * (`src/store/ConversationDocuments.ts`, `RememberedHistories.ts`); the in-memory one has nothing to remember.
 * `test/support/contracts/` holds the suite every adapter passes, with a second instance over the same data.
 */
export interface ConversationStore {
  createConversation(userId: string, conversation: NewConversation): Promise<Conversation>;
  getConversation(userId: string, conversationId: string): Promise<Conversation | null>;
  /** Newest `updatedAt` first. */
  listConversations(userId: string, page: ConversationListRequest): Promise<Page<Conversation>>;
  /** Throws NotFoundError, or PreconditionFailedError when `ifMatch` is given and stale. */
  updateConversation(userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string): Promise<Conversation>;
  /**
   * Stores a title the model gave (`titleSource` `auto`), only while the conversation still has the placeholder
   * (`titleSource` null): the write is conditional on the version read, so a client's title set meanwhile wins.
   * `updatedAt` is left alone (the turn that asked for the title moves it). The conversation as stored, or null
   * when it was already named or is gone.
   */
  setAutoTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null>;
  /** Hides the conversation at once, then removes its messages; false when there was nothing to delete. */
  deleteConversation(userId: string, conversationId: string): Promise<boolean>;
  listMessages(userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>>;
  /**
   * The conversation and all its messages as this instance last wrote or read them (its own writes since
   * included), when it holds them and they fit `limit`; null otherwise. Never a read: a hint a turn plans on, its
   * start `planned: 'remembered'` (see Caching above). A message changes without a new conversation etag only in
   * what no prompt reads (feedback), so a view at the conversation's current etag has the history a read would.
   */
  rememberedTurnView(userId: string, conversationId: string, limit: number): TurnView | null;
  /** A page of a conversation's messages, newest first, for building the prompt (the conversation is not checked). */
  recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>>;
  getMessage(userId: string, messageId: string): Promise<Message | null>;
  /**
   * Reads a message of the conversation, applies `change` (which may throw to refuse) and writes the result
   * conditionally on the version read, again from a fresh read when another write came between: no concurrent
   * write is lost. NotFoundError when the conversation has no such message.
   */
  modifyMessage(userId: string, conversationId: string, messageId: string, change: (message: Message) => Message): Promise<Message>;
  /** A page of the messages on `path` (see BranchPath), by `seq` in `order`; the conversation is not checked. */
  pathMessages(userId: string, conversationId: string, path: BranchPath, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>>;
  /** How many messages on `path` numbered below `seq` would be sent to the model (`isSendable`). */
  countSendableOnPath(userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number>;
  /** The conversation's messages whose `parentId` is one of `parentIds` (null: first messages), in any order. */
  childrenOf(userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<readonly MessageLink[]>;
  /** The original lane's message right before or after the one numbered `seq`, or null: a pre-branch message's neighbour. */
  originalLaneNeighbour(userId: string, conversationId: string, seq: number, side: 'before' | 'after'): Promise<Message | null>;
  /** Lane `branch` (null: the original lane) from the message numbered `fromSeq` on, and the lanes forked from it there. */
  readLane(userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView>;

  /**
   * Takes the conversation's turn lock if it is free or expired at `now` and, in the same atomic write, stores the
   * turn's first messages and its idempotency record: one round trip, and never a lock without its messages or
   * messages without their lock. `conversation` is the version the caller just read (its etag saves a read; the
   * result never depends on it). A lock held by the same turn id counts as free. Throws NotFoundError for a
   * missing or deleted conversation.
   *
   * The last message of `start.messages` becomes the conversation's active leaf.
   *
   * An idempotency record older than 24 hours (by the store's clock) gives way to the new one. When both the lock
   * is held and the key is taken, as when two requests with the same key race, either reason may be reported.
   */
  beginTurn(userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now?: Date): Promise<TurnStartResult>;
  /** Creates or replaces a message (ids are deterministic per turn, so a retry overwrites rather than duplicates). */
  putMessage(message: Message): Promise<Message>;
  /**
   * Stores a turn's final assistant message and, in the same all-or-none write, its usage in the ledger (the
   * {@link UsageLedger}'s record for `usage.turnId`): the message never carries usage the ledger lacks, after any
   * failure or crash. A turn already recorded keeps its record (created once per turn id); the message is still
   * written. `usage` null: the message alone. Given `finish`, the adapter may also finish the turn (what
   * {@link finishTurn} does with it) in the same write: true when it did, and the caller need not call finishTurn;
   * false when it did not (finishTurn is still to be called).
   */
  settleMessage(message: Message, usage: UsageEntry | null, finish?: TurnOutcome): Promise<boolean>;
  /**
   * Adds the turn's usage and messages to the conversation and frees the lock if this turn still holds it, once
   * per turn id (a repeat only frees the lock; an adapter may remember only recent turn ids). On a conversation
   * deleted during the turn it finishes the delete instead (what the turn wrote after it goes too); a conversation
   * already gone is fine.
   */
  finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void>;
  /**
   * Deletes what a turn may have written before it could start (its messages, and its idempotency record if it is
   * this turn's), for a {@link beginTurn} whose answer was lost. Documents already absent are fine.
   */
  discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void>;

  /** The key's record; null once it is older than 24 hours (by the store's clock) or its conversation is deleted. */
  getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null>;

  /**
   * Removes what half-finished deletes left behind, of every caller; returns how many conversations it finished. A
   * deleted conversation whose turn lock is still live stays (invisible) until that turn finishes or the lock expires.
   */
  sweepDeleted(): Promise<number>;
  /** Cheap reachability check for /api/health. */
  ping(): Promise<void>;
}
