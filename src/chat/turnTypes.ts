import type { ChatError } from './errors.js';
import type { Conversation, ConversationSettings, Message } from './conversation.js';
import type { ExtraParameters } from './ports.js';
import type { TurnTarget } from './branchPoint.js';

/** What was sent to the model for a turn (the contract's `Context`). */
export interface TurnContext {
  readonly window: number;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly messagesIncluded: number;
  readonly messagesDropped: number;
}

export interface TurnRequest {
  /** The new user message's text (ignored by a regeneration, which answers a stored one). */
  readonly content: string;
  /** Where the turn goes in the message tree; absent: a new message after the active leaf. */
  readonly target?: TurnTarget | undefined;
  readonly settings?: ConversationSettings | undefined;
  readonly extra?: ExtraParameters | undefined;
  /** Makes the POST replayable for 24 h, for the same request (`requestHash`); another request with it is refused. */
  readonly idempotencyKey?: string | undefined;
}

/**
 * The turn as the client sees it, in order: created, deltas, then exactly one of completed or failed; among the
 * deltas, at most once, the conversation as its auto title left it (`updated`), when the title came before the end.
 */
export type TurnEvent =
  | { readonly type: 'created'; readonly userMessage: Message; readonly assistantMessageId: string }
  | { readonly type: 'delta'; readonly content: string }
  | { readonly type: 'updated'; readonly conversation: Conversation }
  | { readonly type: 'completed'; readonly message: Message; readonly context: TurnContext }
  | { readonly type: 'failed'; readonly error: ChatError; readonly message: Message | null };

export type TurnOutcomeEvent = Extract<TurnEvent, { type: 'completed' | 'failed' }>;

export interface StartedTurn {
  readonly userMessage: Message;
  readonly assistantMessageId: string;
  /** The events, from `created` on; reading them is optional: the turn runs to its end either way. */
  readonly events: AsyncIterable<TurnEvent>;
  /** Settles (never rejects) with the final event once the turn is stored. */
  readonly outcome: Promise<TurnOutcomeEvent>;
}
