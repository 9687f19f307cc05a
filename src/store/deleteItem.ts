import type { Container } from '@azure/cosmos';
import { cosmosStatus, toChatError } from './cosmosErrors.js';

/** A point delete in the caller's partition where absence is the goal: a document already gone is fine. */
export async function deleteItem(container: Container, id: string, userId: string): Promise<void> {
  try {
    await container.item(id, userId).delete();
  } catch (error) {
    if (cosmosStatus(error) !== 404) throw toChatError(error);
  }
}
