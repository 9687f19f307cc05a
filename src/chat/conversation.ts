import type { FinishReason } from './ports.js';
import type { TurnContext } from './turnTypes.js';
import type { LaneSpan } from './BranchPath.js';

/** Token usage of a turn or a total. `estimated` marks the service's own count where the model sent none. */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly estimated?: boolean;
}

export const ZERO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

/** Generation settings stored on a conversation (and accepted per turn), in the contract's names. */
export interface ConversationSettings {
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number;
  readonly stop?: readonly string[];
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
}

/** The turn holding a conversation's lock; it expires by itself so a lost instance never locks it forever. */
export interface ActiveTurn {
  readonly turnId: string;
  readonly expiresAt: string;
}

/** The title a conversation created without one shows until it is named (`titleSource` null). */
export const PLACEHOLDER_TITLE = 'New conversation';

/**
 * Who named a conversation, for documents written before the field existed: a title other than the placeholder was
 * the client's (the service named nothing then).
 */
export function titleSourceOf(stored: { readonly title: string; readonly titleSource?: TitleSource | null | undefined }): TitleSource | null {
  if (stored.titleSource !== undefined) return stored.titleSource;
  return stored.title === PLACEHOLDER_TITLE ? null : 'user';
}

/** Who named a conversation: its client (`user`, never replaced by the service) or the model (`auto`). */
export type TitleSource = 'auto' | 'user';

export interface Conversation {
  readonly id: string;
  readonly userId: string;
  readonly title: string;
  /** null while the conversation has only the service's placeholder title (an auto title may still replace it). */
  readonly titleSource: TitleSource | null;
  readonly model: string;
  readonly systemPrompt: string | null;
  readonly settings: ConversationSettings;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly messageCount: number;
  readonly usage: Usage;
  readonly etag: string;
  /** Highest message sequence number used; messages are ordered by `seq`. */
  readonly lastSeq: number;
  readonly activeTurn: ActiveTurn | null;
  /**
   * The last message of the branch the conversation shows (null: no messages). Undefined on a conversation no
   * turn of this version has touched: its messages form one line and its newest message is the leaf.
   */
  readonly activeLeafId?: string | null;
  /** The lanes from a root to `activeLeafId` (`pathTo` of the leaf); undefined where `activeLeafId` is. */
  readonly activePath?: readonly LaneSpan[];
}

/** Why a reply ended: the model's reason, or `cancelled` when a stop ended it (never a model's finish reason). */
export type MessageFinishReason = FinishReason | 'cancelled';

export type MessageStatus = 'complete' | 'streaming' | 'incomplete' | 'failed' | 'filtered';

export interface MessageError {
  readonly code: string;
  readonly detail: string;
}

/** A caller's rating of an assistant reply. */
export interface MessageFeedback {
  readonly rating: 'up' | 'down';
  readonly comment: string | null;
  readonly updatedAt: string;
}

export interface Message {
  readonly id: string;
  readonly conversationId: string;
  readonly userId: string;
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly status: MessageStatus;
  readonly createdAt: string;
  /** Tokens of `content` alone, counted once when the message is stored. */
  readonly tokenCount: number;
  readonly seq: number;
  readonly turnId: string;
  readonly finishReason?: MessageFinishReason | null;
  readonly usage?: Usage;
  readonly model?: string;
  readonly error?: MessageError;
  /** While `streaming`: when the turn's lease ends; a `streaming` message past it is reported `incomplete`. */
  readonly leaseUntil?: string;
  /** On assistant messages: what was sent to the model, kept so an idempotent retry can replay the turn. */
  readonly context?: TurnContext;
  /** Set only through `ConversationStore.modifyMessage`; every other writer of a stored message keeps it. */
  readonly feedback?: MessageFeedback;
  /** The message this one follows; null for a first message; undefined on messages stored before branches. */
  readonly parentId?: string | null;
  /** The lane this message is in: the id of the lane's first message; undefined for the original lane. */
  readonly branch?: string;
  /** The lanes of this message's path above its own lane, root first (undefined on the original lane). */
  readonly forks?: readonly LaneSpan[];
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

/**
 * Whether a stored message is ever sent to the model: not `failed`, and with content (an empty `filtered` or
 * `incomplete` message carries nothing). An `incomplete` or stale `streaming` message with content is sent as it is.
 */
export function isSendable(message: Pick<Message, 'status' | 'content'>): boolean {
  return message.status !== 'failed' && message.content.trim() !== '';
}

/** What a turn whose instance was lost leaves on its reply: the turn stopped, what was saved of it is kept. */
export const INSTANCE_LOST: MessageError = { code: 'instance_lost', detail: 'The turn stopped before it finished.' };

/**
 * A message as it stands at `now`. A `streaming` message is its turn's reply in progress only while its lease runs
 * (the lease is the conversation lock's, so past it another turn may start): once the lease has passed, or when it
 * has none, its instance was lost, and it reads as `incomplete` with what was saved of it and `instance_lost` (or
 * the error it already carries). Every reader of a message (the contract's shape, a replay) sees it through this.
 */
export function asSeen(message: Message, now: Date): Message {
  if (message.status !== 'streaming' || Date.parse(message.leaseUntil ?? '') > now.getTime()) return message;
  return asLost(message);
}

/** A `streaming` reply settled as lost: `incomplete`, without its lease, with `instance_lost` unless it has an error. */
export function asLost(message: Message): Message {
  const { leaseUntil: _leaseUntil, ...rest } = message;
  return { ...rest, status: 'incomplete', error: message.error ?? INSTANCE_LOST };
}
