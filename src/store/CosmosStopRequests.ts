import type { Container } from '@azure/cosmos';
import type { StopRequests } from '../chat/StopRequests.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import { readItem } from './readItem.js';

interface StopRequestDocument {
  id: string;
  userId: string;
  type: 'stopRequest';
  turnId: string;
  requestedAt: string;
  /** Seconds until Cosmos removes it: a day is far longer than any turn's lease. */
  ttl: number;
}

const STOP_TTL_SECONDS = 24 * 60 * 60;

/**
 * One small document per stopped turn, its id derived from the turn id: the running turn's check is a point read
 * (~1 RU, found or not), and a second stop lands on the same document.
 */
export class CosmosStopRequests implements StopRequests {
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
  }

  async request(userId: string, turnId: string, at: Date): Promise<void> {
    const doc: StopRequestDocument = {
      id: stopRequestId(turnId), userId, type: 'stopRequest', turnId, requestedAt: at.toISOString(), ttl: STOP_TTL_SECONDS,
    };
    try {
      // Create, not upsert: the first stop's time is the one the 2 s bound is measured from.
      await this.#container.items.create(doc);
    } catch (error) {
      if (cosmosStatus(error) !== 409) throw toChatError(error);
    }
  }

  async requestedAt(userId: string, turnId: string): Promise<string | null> {
    const doc = await readItem<StopRequestDocument>(this.#container, stopRequestId(turnId), userId);
    return doc?.type === 'stopRequest' ? doc.requestedAt : null;
  }
}

function stopRequestId(turnId: string): string {
  return `stop_${turnId}`;
}

