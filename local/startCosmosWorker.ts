import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { CosmosWorkerReady } from './cosmosWorkerMain.js';
import { EMULATOR_KEY, type EmbeddedCosmos, type EmbeddedCosmosOptions } from './embeddedCosmos.js';
import { DataFolderInUse } from './keepAccountIn.js';

/**
 * startEmbeddedCosmos in a worker thread, for `npm start`: the store is single-threaded, and on the service's own
 * event loop every store request it served delayed the turns' relays and first tokens. Same data folder, same
 * guarantees: a change is journaled in the worker before the store answers, and a kill -9 ends both threads.
 * Needs the built file beside it (dist/local/cosmosWorkerMain.js), so only the built `npm start` uses it.
 */
export async function startCosmosWorker(options: EmbeddedCosmosOptions = {}): Promise<EmbeddedCosmos> {
  const worker = new Worker(new URL('./cosmosWorkerMain.js', import.meta.url), { workerData: options });
  const [ready] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error as Error))])) as [CosmosWorkerReady];
  if ('error' in ready) {
    await worker.terminate();
    throw ready.inUse ? new DataFolderInUse(ready.error) : new Error(ready.error);
  }
  return {
    endpoint: ready.endpoint,
    key: EMULATOR_KEY,
    ...(ready.kept ? { kept: ready.kept } : {}),
    close: async () => {
      const closed = once(worker, 'message');
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
