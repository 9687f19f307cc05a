import type { Container, ItemDefinition } from '@azure/cosmos';
import { cosmosStatus, toChatError } from './cosmosErrors.js';

/** A point read in the caller's partition: the document, null when it does not exist, else the store's error. */
export async function readItem<T extends ItemDefinition>(container: Container, id: string, userId: string): Promise<T | null> {
  try {
    const { resource } = await container.item(id, userId).read<T>();
    return resource ?? null;
  } catch (error) {
    if (cosmosStatus(error) === 404) return null;
    throw toChatError(error);
  }
}
