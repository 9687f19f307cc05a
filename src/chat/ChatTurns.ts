import { asChatError } from './errors.js';
import { EventQueue } from './EventQueue.js';
import type { Conversation } from './conversation.js';
import { LiveTurn } from './LiveTurn.js';
import { beginTurn, type BegunTurn } from './turn/beginTurn.js';
import { relayReply } from './turn/relayReply.js';
import { recoverLostTurn, settleTurn } from './turn/settleTurn.js';
import type { TurnDeps } from './turn/TurnDeps.js';
import type { StartedTurn, TurnEvent, TurnOutcomeEvent, TurnRequest } from './turnTypes.js';

export type ChatTurnsOptions = TurnDeps;

/**
 * The chat turn, in three steps (`src/chat/turn/`): begin (the reads and checks, the reservation, the lock and the
 * user message, stored before the model is called), relay (the model's reply into the turn's events as it
 * arrives, with checkpoints, stopped before the lease ends) and settle (the final message and its usage, counted
 * once, then the reservation, the totals and the lock). The reply is stored whatever happens to the client.
 */
export class ChatTurns {
  readonly #deps: TurnDeps;

  constructor(options: ChatTurnsOptions) {
    this.#deps = options;
  }

  /**
   * Everything that can be refused is refused here, before the user message is stored (the caller answers with
   * an HTTP status); once this resolves, every failure arrives as the turn's `failed` event.
   */
  async start(userId: string, conversationId: string, request: TurnRequest): Promise<StartedTurn> {
    const begun = await beginTurn(this.#deps, userId, conversationId, request);
    if (begun.kind === 'replay') return begun.turn;
    const { userMessage, placeholder } = begun.turn;

    // From here until it is settled, a stop or a resume that lands on this instance finds the turn itself.
    const liveIds = { userId, conversationId, messageId: placeholder.id, turnId: placeholder.turnId };
    const live = this.#deps.liveTurns?.open(liveIds) ?? new LiveTurn(liveIds);
    const queue = new EventQueue<TurnEvent>();
    queue.push({ type: 'created', userMessage, assistantMessageId: placeholder.id });
    const outcome = this.#run(begun.turn, request, queue, live).catch((error: unknown): TurnOutcomeEvent => {
      this.#deps.log?.('turn crashed', error);
      return { type: 'failed', error: asChatError(error), message: null };
    }).then((event) => {
      queue.push(event);
      queue.close();
      live.finish(event);
      return event;
    });
    return { userMessage, assistantMessageId: placeholder.id, events: queue, outcome };
  }

  /** The turn on its own, never waiting for the client: relayed, then always stored and unlocked. */
  async #run(turn: BegunTurn, request: TurnRequest, queue: EventQueue<TurnEvent>, live: LiveTurn): Promise<TurnOutcomeEvent> {
    const reply = await relayReply(this.#deps, turn, request.extra, queue, live);
    return settleTurn(this.#deps, turn, reply);
  }

  /** Settles a turn whose instance was lost (lease passed), as the next turn in its conversation would (`recoverLostTurn`). */
  recoverLost(userId: string, conversation: Conversation, turnId: string, now: Date): Promise<void> {
    return recoverLostTurn(this.#deps, userId, conversation, turnId, now);
  }
}
