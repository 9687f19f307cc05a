import { performance } from 'node:perf_hooks';
import { startEmbeddedCosmos } from '../local/embeddedCosmos.js';
import { openChatContainer } from '../src/store/cosmosContainer.js';
import { quantile } from './stats.js';

export interface StoreQueryResult {
  readonly documents: number;
  readonly users: number;
  readonly pointReadMs: number;
  readonly historyQueryMs: number;
}

/**
 * The embedded store (what `npm start` keeps in `.data/`) with `documents` messages over `users` callers: median
 * time of a turn's history query (the newest 100 of one conversation, the SDK's plan request beside it) against a
 * point read, from a client in this process. Before its queries were scoped to their partition, the query ran over
 * every caller's documents and grew with the store (~380 ms at 10,000 documents on this machine).
 */
export async function benchStoreQueries(documents = 10_000, users = 500, runs = 100): Promise<StoreQueryResult> {
  const cosmos = await startEmbeddedCosmos();
  try {
    const container = await openChatContainer({ endpoint: cosmos.endpoint, key: cosmos.key, database: 'bench-store' });
    for (let i = 0; i < documents; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, documents - i) }, (_, j) => {
        const n = i + j;
        return container.items.create({ id: `m${n}`, userId: `u${n % users}`, type: 'message', conversationId: `c${n % users}`, seq: n, content: 'hello '.repeat(40) });
      }));
    }
    const median = async (op: () => Promise<unknown>): Promise<number> => {
      await op();
      const times: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const start = performance.now();
        await op();
        times.push(performance.now() - start);
      }
      return quantile(times, 0.5);
    };
    const pointReadMs = await median(() => container.item('m7', 'u7').read());
    const historyQueryMs = await median(() => container.items.query({
      query: 'SELECT TOP 100 * FROM c WHERE c.userId = @u AND c.type = "message" AND c.conversationId = @c ORDER BY c.seq DESC',
      parameters: [{ name: '@u', value: 'u7' }, { name: '@c', value: 'c7' }],
    }, { partitionKey: 'u7' }).fetchAll());
    return { documents, users, pointReadMs, historyQueryMs };
  } finally {
    await cosmos.close();
  }
}
