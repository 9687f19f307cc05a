/**
 * The embedded store in its own thread (startCosmosWorker): its requests are parsed, queried and journaled here,
 * off the event loop of the service that calls it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startEmbeddedCosmos, type EmbeddedCosmosOptions } from './embeddedCosmos.js';
import { DataFolderInUse } from './keepAccountIn.js';

export type CosmosWorkerReady =
  | { readonly endpoint: string; readonly kept?: { readonly dropped: number; readonly documents: number } }
  | { readonly error: string; readonly inUse: boolean };

const port = parentPort!;
try {
  const cosmos = await startEmbeddedCosmos(workerData as EmbeddedCosmosOptions);
  port.once('message', () => {
    void cosmos.close().then(() => port.postMessage('closed'));
  });
  port.postMessage({ endpoint: cosmos.endpoint, ...(cosmos.kept ? { kept: cosmos.kept } : {}) } satisfies CosmosWorkerReady);
} catch (error) {
  // An error crossing threads loses its class: say which one it was.
  port.postMessage({ error: (error as Error).message, inUse: error instanceof DataFolderInUse } satisfies CosmosWorkerReady);
}
