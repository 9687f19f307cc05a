import type { ActiveTurn, Conversation, ConversationSettings, Message, Page, Usage } from './conversation.js';
import type { UsageEntry } from './UsageLedger.js';

export interface NewConversation {
  readonly id: string;
  readonly title: string;
  readonly model: string;
  readonly systemPrompt: string | null;
  readonly settings: ConversationSettings;
  readonly createdAt: string;
}

export interface ConversationChanges {
  readonly title?: string;
  readonly systemPrompt?: string | null;
  readonly settings?: ConversationSettings;
  readonly updatedAt: string;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
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
}

export type TurnStartResult =
  | { readonly started: true; readonly conversation: Conversation; readonly messages: readonly Message[] }
  /** `locked`: another live turn holds the conversation; `key_taken`: a live record for the same key exists. */
  | { readonly started: false; readonly reason: 'locked' | 'key_taken' };

/** What {@link ConversationStore.discardTurn} removes. */
export interface DiscardedTurn {
  readonly turnId: string;
  readonly messageIds: readonly string[];
  readonly idempotencyKey?: string | undefined;
}

/**
 * Persistence of conversations and messages, always scoped to the caller: every method takes the user id and
 * never returns another user's data. Deleted (or half-deleted) conversations are invisible to every read.
 */
export interface ConversationStore {
  createConversation(userId: string, conversation: NewConversation): Promise<Conversation>;
  getConversation(userId: string, conversationId: string): Promise<Conversation | null>;
  listConversations(userId: string, page: PageRequest): Promise<Page<Conversation>>;
  /** Throws NotFoundError, or PreconditionFailedError when `ifMatch` is given and stale. */
  updateConversation(userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string): Promise<Conversation>;
  /** Hides the conversation at once, then removes its messages; false when there was nothing to delete. */
  deleteConversation(userId: string, conversationId: string): Promise<boolean>;
  listMessages(userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>>;
  /** A page of a conversation's messages, newest first, for building the prompt (the conversation is not checked). */
  recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>>;
  /** How many of the conversation's messages numbered below `seq` would be sent to the model (`isSendable`). */
  countSendableBefore(userId: string, conversationId: string, seq: number): Promise<number>;
  getMessage(userId: string, messageId: string): Promise<Message | null>;

  /**
   * Takes the conversation's turn lock if it is free or expired at `now` and, in the same atomic write, stores the
   * turn's first messages and its idempotency record: one round trip, and never a lock without its messages or
   * messages without their lock. `conversation` is the version the caller just read (its etag saves a read).
   * Throws NotFoundError for a missing or deleted conversation.
   */
  beginTurn(userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now?: Date): Promise<TurnStartResult>;
  /** Creates or replaces a message (ids are deterministic per turn, so a retry overwrites rather than duplicates). */
  putMessage(message: Message): Promise<Message>;
  /**
   * Stores a turn's final assistant message and, in the same all-or-none write, its usage in the ledger (the
   * {@link UsageLedger}'s record for `usage.turnId`): the message never carries usage the ledger lacks, after any
   * failure or crash. A turn already recorded keeps its record (created once per turn id); the message is still
   * written. `usage` null: the message alone.
   */
  settleMessage(message: Message, usage: UsageEntry | null): Promise<void>;
  /** Adds the turn's usage and messages to the conversation and frees the lock, once per turn id. */
  finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void>;
  /**
   * Deletes what a turn may have written before it could start (its messages, and its idempotency record if it is
   * this turn's), for a {@link beginTurn} whose answer was lost. Documents already absent are fine.
   */
  discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void>;

  getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null>;

  /** Removes what half-finished deletes left behind; returns how many conversations it finished. */
  sweepDeleted(): Promise<number>;
  /** Cheap reachability check for /api/health. */
  ping(): Promise<void>;
}
