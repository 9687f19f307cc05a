import type { StopRequests } from '../../../src/chat/StopRequests.js';

/** `StopRequests` in process memory: the first request's time per caller and turn, as the Cosmos document keeps it. */
export class MemoryStopRequests implements StopRequests {
  readonly #requested = new Map<string, string>();

  async request(userId: string, turnId: string, at: Date): Promise<void> {
    const key = `${userId}/${turnId}`;
    if (!this.#requested.has(key)) this.#requested.set(key, at.toISOString());
  }

  async requestedAt(userId: string, turnId: string): Promise<string | null> {
    return this.#requested.get(`${userId}/${turnId}`) ?? null;
  }
}
