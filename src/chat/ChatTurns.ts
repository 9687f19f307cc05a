import { asChatError } from './errors.js';
import { EventQueue } from './EventQueue.js';
import type { Conversation } from './conversation.js';
import { LiveTurn } from './LiveTurn.js';
import { beginTurn, type BegunTurn } from './turn/beginTurn.js';
import { relayReply } from './turn/relayReply.js';
import { recoverLostTurn, settleTurn } from './turn/settleTurn.js';
import { titleConversation, wantsTitle } from './turn/titleConversation.js';
import type { TurnDeps } from './turn/TurnDeps.js';
import type { StartedTurn, TurnEvent, TurnOutcomeEvent, TurnRequest } from './turnTypes.js';

export type ChatTurnsOptions = TurnDeps;

/**
 * The chat turn, in three steps (`src/chat/turn/`): begin (the reads and checks, the reservation, the lock and the
 * user message, stored before the model is called), relay (the model's reply into the turn's events as it
 * arrives, with checkpoints, stopped before the lease ends) and settle (the final message and its usage, counted
 * once, then the reservation, the totals and the lock). The reply is stored whatever happens to the client.
 * Beside the reply, an untitled conversation's first turn names it (`titleConversation`), started once the
 * reply's own model call is accepted, so the title never holds up the reply nor the reply the title.
 */
export class ChatTurns {
  readonly #deps: TurnDeps;
  /** Title calls still running: they outlive their turn's events, bounded by its lease. */
  readonly #titles = new Set<Promise<unknown>>();

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
    let ended = false;
    const startTitle = wantsTitle(this.#deps, begun.turn) ? () => this.#title(begun.turn, (conversation) => {
      // Only before the terminal event: after it the stream is over, and the client reads the title from the list.
      if (!ended) queue.push({ type: 'updated', conversation });
    }) : undefined;
    const outcome = this.#run(begun.turn, request, queue, live, startTitle).catch((error: unknown): TurnOutcomeEvent => {
      this.#deps.log?.('turn crashed', error);
      return { type: 'failed', error: asChatError(error), message: null };
    }).then((event) => {
      ended = true;
      queue.push(event);
      queue.close();
      live.finish(event);
      return event;
    });
    return { userMessage, assistantMessageId: placeholder.id, events: queue, outcome };
  }

  /** The turn on its own, never waiting for the client: relayed, then always stored and unlocked. */
  async #run(
    turn: BegunTurn, request: TurnRequest, queue: EventQueue<TurnEvent>, live: LiveTurn, startTitle: (() => void) | undefined,
  ): Promise<TurnOutcomeEvent> {
    const reply = await relayReply(this.#deps, turn, request.extra, queue, live, startTitle);
    return settleTurn(this.#deps, turn, reply);
  }

  /** Starts the turn's title call; a stop of the turn does not stop it (it ends by the lease on its own). */
  #title(turn: BegunTurn, onTitled: (conversation: Conversation) => void): void {
    const running = titleConversation(this.#deps, turn).then((conversation) => {
      if (conversation) onTitled(conversation);
    }).finally(() => this.#titles.delete(running));
    this.#titles.add(running);
  }

  /** Resolves once every title call started so far has ended (for a graceful shutdown, and tests). */
  async titlesSettled(): Promise<void> {
    while (this.#titles.size) await Promise.allSettled([...this.#titles]);
  }

  /** Settles a turn whose instance was lost (lease passed), as the next turn in its conversation would (`recoverLostTurn`). */
  recoverLost(userId: string, conversation: Conversation, turnId: string, now: Date): Promise<void> {
    return recoverLostTurn(this.#deps, userId, conversation, turnId, now);
  }
}
