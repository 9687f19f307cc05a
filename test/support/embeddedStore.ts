import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../../local/embeddedCosmos.js';
import { openChatContainer } from '../../src/store/cosmosContainer.js';
import { CosmosConversationStore } from '../../src/store/CosmosConversationStore.js';

export interface TestStore {
  readonly cosmos: EmbeddedCosmos;
  readonly container: Container;
  readonly store: CosmosConversationStore;
  close(): Promise<void>;
}

/** A fresh embedded Cosmos server with the chat container, over real HTTPS, for one test file. */
export async function startTestStore(): Promise<TestStore> {
  const cosmos = await startEmbeddedCosmos();
  const container = await openChatContainer({ endpoint: cosmos.endpoint, key: cosmos.key, database: `test-${randomUUID()}` });
  return { cosmos, container, store: new CosmosConversationStore(container), close: () => cosmos.close() };
}

/** Every document in the container, for asserting that nothing changed. */
export async function snapshot(container: Container): Promise<string> {
  const { resources } = await container.items.query('SELECT * FROM c').fetchAll();
  const clean = resources.map((d: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(d).filter(([k]) => !k.startsWith('_'))),
  );
  return JSON.stringify(clean.sort((a, b) => String(a.id).localeCompare(String(b.id))));
}
