import { LiveTurn } from './LiveTurn.js';

/**
 * The turns running on this instance, by assistant message id: a stop or a resume that lands here acts on the turn
 * itself (at once) instead of going through the store. A turn is here from the moment its placeholder is stored
 * until it is settled.
 */
export class LiveTurns {
  readonly #turns = new Map<string, LiveTurn>();

  open(ids: { userId: string; conversationId: string; messageId: string; turnId: string }): LiveTurn {
    const turn = new LiveTurn(ids);
    this.#turns.set(ids.messageId, turn);
    void turn.outcome.then(() => {
      if (this.#turns.get(ids.messageId) === turn) this.#turns.delete(ids.messageId);
    });
    return turn;
  }

  /** The caller's running turn for that message of that conversation, if it runs here. */
  find(userId: string, conversationId: string, messageId: string): LiveTurn | undefined {
    const turn = this.#turns.get(messageId);
    return turn && turn.userId === userId && turn.conversationId === conversationId ? turn : undefined;
  }

  get size(): number {
    return this.#turns.size;
  }
}
