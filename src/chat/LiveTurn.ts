import { ValidationError } from './errors.js';
import { EventQueue } from './EventQueue.js';
import type { TurnEvent, TurnOutcomeEvent } from './turnTypes.js';

/** Why a turn's model call was aborted by a stop (the signal's reason), told apart from the lease's own stop. */
export class TurnCancelled extends Error {
  constructor() {
    super('The reply was stopped.');
    this.name = 'TurnCancelled';
  }
}

type ReplyEvent = Extract<TurnEvent, { type: 'delta' | 'completed' | 'failed' }>;

/**
 * A turn running on this instance, as the stop and resume routes see it: the reply relayed so far, the followers
 * of its stream, and the abort its model call listens to. Everything happens on one thread, so what a follower is
 * handed when it joins and what it receives afterwards never overlap and never leave a gap.
 */
export class LiveTurn {
  readonly userId: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly turnId: string;
  readonly #abort = new AbortController();
  readonly #followers = new Set<EventQueue<ReplyEvent>>();
  readonly #outcome: Promise<TurnOutcomeEvent>;
  #settle!: (event: TurnOutcomeEvent) => void;
  #content = '';
  #relaying = true;
  #finished: TurnOutcomeEvent | null = null;

  constructor(ids: { userId: string; conversationId: string; messageId: string; turnId: string }) {
    this.userId = ids.userId;
    this.conversationId = ids.conversationId;
    this.messageId = ids.messageId;
    this.turnId = ids.turnId;
    this.#outcome = new Promise((resolve) => (this.#settle = resolve));
  }

  /** The model call's signal: aborted by a stop (reason {@link TurnCancelled}) or by the turn's lease. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The reply relayed so far. */
  get content(): string {
    return this.#content;
  }

  /** The turn's final event, once it is settled. */
  get outcome(): Promise<TurnOutcomeEvent> {
    return this.#outcome;
  }

  /** Ends the model call with `reason` unless it has already ended; true when this call was the one that ended it. */
  abort(reason: unknown): boolean {
    if (!this.#relaying || this.#abort.signal.aborted) return false;
    this.#abort.abort(reason);
    return true;
  }

  /** A stop: nothing is relayed after it. False when the reply had already ended (a natural end won the race). */
  stop(): boolean {
    return this.abort(new TurnCancelled());
  }

  get cancelled(): boolean {
    return this.#abort.signal.reason instanceof TurnCancelled;
  }

  /** Relays a piece of the reply to the followers; false (and dropped) once the call was aborted. */
  relay(piece: string): boolean {
    if (!this.#relaying || this.#abort.signal.aborted || !piece) return false;
    this.#content += piece;
    for (const follower of this.#followers) follower.push({ type: 'delta', content: piece });
    return true;
  }

  /** The model call is over: from here a stop no longer changes the reply. */
  endRelay(): void {
    this.#relaying = false;
  }

  /** The turn is settled: every follower gets the terminal event and its stream ends. */
  finish(event: TurnOutcomeEvent): void {
    this.#relaying = false;
    this.#finished = event;
    for (const follower of this.#followers) {
      follower.push(event);
      follower.close();
    }
    this.#followers.clear();
    this.#settle(event);
  }

  /**
   * The stream from `length` on: what the client misses as one delta, then each piece as it is relayed, then the
   * terminal event. A length past what was relayed is not an id this turn's streams sent (400).
   */
  follow(length: number, field: string): AsyncIterable<ReplyEvent> {
    if (length > this.#content.length) {
      throw new ValidationError(`${field} is past the reply produced so far.`, [{ field, message: 'not an event id this service sent' }]);
    }
    const queue = new EventQueue<ReplyEvent>();
    const missing = this.#content.slice(length);
    if (missing) queue.push({ type: 'delta', content: missing });
    if (this.#finished) {
      // Joined between the settle and the turn leaving the registry.
      queue.push(this.#finished);
      queue.close();
    } else {
      this.#followers.add(queue);
    }
    return queue;
  }
}
