import type { Conversation, Message } from './conversation.js';
import type { ConversationStore } from './ConversationStore.js';
import { assistantMessageOf } from './assistantMessageOf.js';
import { NotFoundError } from './errors.js';
import type { LiveTurns } from './LiveTurns.js';
import type { Clock } from './ports.js';
import type { StopRequests } from './StopRequests.js';

export interface TurnStopsOptions {
  readonly store: ConversationStore;
  readonly stopRequests: StopRequests;
  readonly liveTurns: LiveTurns;
  readonly clock: Clock;
  /** Settles a turn whose lease passed while it was still `streaming` (its instance was lost), as the next turn would. */
  readonly recoverLost: (userId: string, conversation: Conversation, turnId: string, now: Date) => Promise<void>;
}

/** What a stop answers: `accepted` (202) when the reply was still being produced, else 200; the message as it is now. */
export interface StopResult {
  readonly accepted: boolean;
  readonly message: Message;
}

/**
 * Stop: ends a reply that is still being produced. On the instance running it the turn is aborted at once and the
 * answer waits for it to settle; elsewhere the stop is recorded for that turn to find within a second. A reply whose
 * instance was lost (lease passed) is settled here, as the next turn would settle it. Stopping a finished reply
 * changes nothing, so a second stop, or one that meets the natural end, answers with whichever outcome was stored.
 */
export class TurnStops {
  readonly #o: TurnStopsOptions;

  constructor(options: TurnStopsOptions) {
    this.#o = options;
  }

  async stop(userId: string, conversationId: string, messageId: string): Promise<StopResult> {
    const { store, clock } = this.#o;
    const live = this.#o.liveTurns.find(userId, conversationId, messageId);
    if (live) {
      live.stop();
      const outcome = await live.outcome;
      const message = outcome.message ?? (await store.getMessage(userId, messageId));
      if (!message) throw new NotFoundError('No such message.');
      return { accepted: true, message };
    }
    const message = await this.#assistantMessage(userId, conversationId, messageId);
    if (message.status !== 'streaming') return { accepted: false, message };
    const now = clock.now();
    if (Date.parse(message.leaseUntil ?? '') <= now.getTime()) {
      const conversation = await store.getConversation(userId, conversationId);
      if (!conversation) throw new NotFoundError('No such conversation.');
      await this.#o.recoverLost(userId, conversation, message.turnId, now);
      return { accepted: false, message: await this.#assistantMessage(userId, conversationId, messageId) };
    }
    await this.#o.stopRequests.request(userId, message.turnId, now);
    return { accepted: true, message };
  }

  async #assistantMessage(userId: string, conversationId: string, messageId: string): Promise<Message> {
    return assistantMessageOf(this.#o.store, userId, conversationId, messageId);
  }
}
