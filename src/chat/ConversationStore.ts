import type { ActiveTurn, Conversation, ConversationSettings, Message, Page, Usage } from './conversation.js';

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
  /** Every message of a conversation, oldest first (for building the prompt). */
  allMessages(userId: string, conversationId: string): Promise<readonly Message[]>;
  getMessage(userId: string, messageId: string): Promise<Message | null>;

  /**
   * Takes the conversation's turn lock if it is free or expired at `now`, reserving `seqCount` sequence numbers.
   * Returns the conversation as locked, or null when another live turn holds it.
   */
  acquireTurn(userId: string, conversation: Pick<Conversation, 'id'>, turn: ActiveTurn, seqCount: number, now?: Date): Promise<Conversation | null>;
  /** Creates or replaces a message (ids are deterministic per turn, so a retry overwrites rather than duplicates). */
  putMessage(message: Message): Promise<Message>;
  /** Adds the turn's usage and messages to the conversation and frees the lock, once per turn id. */
  finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void>;
  /**
   * Deletes what a turn wrote before it could start (its messages, and its idempotency record if it is this turn's),
   * so a turn refused at its first writes leaves nothing half-written. Documents already absent are fine.
   */
  discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void>;

  getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null>;
  /** False when a record for the same key already exists. */
  putIdempotencyRecord(userId: string, record: IdempotencyRecord): Promise<boolean>;

  /** Removes what half-finished deletes left behind; returns how many conversations it finished. */
  sweepDeleted(): Promise<number>;
  /** Cheap reachability check for /api/health. */
  ping(): Promise<void>;
}
