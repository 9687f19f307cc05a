import { assistantMessageOf } from './assistantMessageOf.js';
import type { Message } from './conversation.js';
import type { ConversationStore } from './ConversationStore.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { LiveTurns } from './LiveTurns.js';
import type { Clock } from './ports.js';
import { storedOutcome } from './storedOutcome.js';
import { parseStreamEventId } from './streamEventId.js';
import type { TurnEvent } from './turnTypes.js';

export interface ReplyStreamsOptions {
  readonly store: ConversationStore;
  readonly liveTurns: LiveTurns;
  readonly clock: Clock;
  /** How often a reply produced on another instance is read again while it is followed (at most 1 s). */
  readonly followIntervalMs: number;
}

type ReplyEvent = Extract<TurnEvent, { type: 'delta' | 'completed' | 'failed' }>;

/** A resumed stream: the reply length the client already holds, then the events it misses, ending with the terminal one. */
export interface ResumedStream {
  readonly from: number;
  readonly events: AsyncIterable<ReplyEvent>;
}

/**
 * Resume: a reply's stream from any event id, exactly (the deltas before the id plus these equal the reply). A reply
 * running on this instance is followed live; one running elsewhere is followed as it is saved, read again every
 * `followIntervalMs`; a finished one is what is missing, then its terminal event.
 */
export class ReplyStreams {
  readonly #o: ReplyStreamsOptions;

  constructor(options: ReplyStreamsOptions) {
    this.#o = options;
  }

  /** Refusals (404, 400 for a user message or an id this stream never sent) come before the stream starts. */
  async follow(userId: string, conversationId: string, messageId: string, lastEventId: { value: string; field: string } | undefined): Promise<ResumedStream> {
    const from = lastEventId ? parseStreamEventId(lastEventId.value, lastEventId.field) : 0;
    const live = this.#o.liveTurns.find(userId, conversationId, messageId);
    if (live) return { from, events: live.follow(from, lastEventId?.field ?? 'Last-Event-ID') };
    const message = await assistantMessageOf(this.#o.store, userId, conversationId, messageId);
    if (message.status !== 'streaming' && from > message.content.length) {
      throw new ValidationError(`${lastEventId?.field ?? 'Last-Event-ID'} is past the end of this reply.`, [
        { field: lastEventId?.field ?? 'Last-Event-ID', message: 'not an event id this service sent' },
      ]);
    }
    return { from, events: this.#followStored(userId, message, from) };
  }

  /**
   * A reply as it is saved: a client may hold more than was saved yet (it was streaming from the running instance),
   * so nothing is sent until the saved reply reaches what it holds.
   */
  async *#followStored(userId: string, first: Message, from: number): AsyncGenerator<ReplyEvent> {
    let message = first;
    let sent = from;
    for (;;) {
      if (message.content.length > sent) {
        yield { type: 'delta', content: message.content.slice(sent) };
        sent = message.content.length;
      }
      const outcome = storedOutcome(message, this.#o.clock.now());
      if (outcome) {
        yield outcome;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#o.followIntervalMs));
      const next = await this.#o.store.getMessage(userId, message.id);
      if (!next) throw new NotFoundError('The conversation was deleted while its reply was followed.');
      message = next;
    }
  }
}
