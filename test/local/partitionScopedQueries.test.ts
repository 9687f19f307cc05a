import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BulkOperationType, type Container } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../../local/embeddedCosmos.js';
import { openChatContainer } from '../../src/store/cosmosContainer.js';

/** Ids a query answers, sorted. */
async function ids(container: Container, query: string, partitionKey?: string): Promise<string[]> {
  const { resources } = await container.items
    .query<{ id: string }>({ query, parameters: [] }, partitionKey === undefined ? {} : { partitionKey })
    .fetchAll();
  return resources.map((r) => r.id).sort();
}

describe('the embedded store answers a query over the partition it names (partitionScopedQueries)', () => {
  let cosmos: EmbeddedCosmos;
  let container: Container;
  const dir = mkdtempSync(join(tmpdir(), 'chat-scoped-'));
  beforeAll(async () => {
    cosmos = await startEmbeddedCosmos();
    container = await openChatContainer({ endpoint: cosmos.endpoint, key: cosmos.key, database: 'scoped' });
  });
  afterAll(async () => {
    await cosmos.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees each partition as its writes and deletes left it, and every partition when none is named', async () => {
    for (const [id, userId] of [['a1', 'alice'], ['a2', 'alice'], ['b1', 'bob'], ['b2', 'bob']] as const) {
      await container.items.create({ id, userId, type: 'note', n: Number(id[1]) });
    }
    await container.item('a1', 'alice').replace({ id: 'a1', userId: 'alice', type: 'note', n: 10 });
    await container.items.upsert({ id: 'a3', userId: 'alice', type: 'note', n: 3 });
    await container.item('b2', 'bob').delete();
    await container.items.batch([{ operationType: BulkOperationType.Create, partitionKey: 'bob', resourceBody: { id: 'b3', userId: 'bob', type: 'note', n: 3 } }], 'bob');

    // A query naming no user in its text: only the partition key header scopes it, as in Cosmos DB.
    expect(await ids(container, 'SELECT * FROM c', 'alice')).toEqual(['a1', 'a2', 'a3']);
    expect(await ids(container, 'SELECT * FROM c', 'bob')).toEqual(['b1', 'b3']);
    expect(await ids(container, 'SELECT * FROM c', 'carol')).toEqual([]);
    expect(await ids(container, 'SELECT * FROM c WHERE c.type = "note"')).toEqual(['a1', 'a2', 'a3', 'b1', 'b3']);
  });

  it('answers filters, order, TOP and aggregates within the partition as the query says', async () => {
    const { resources: ordered } = await container.items
      .query<{ id: string }>('SELECT TOP 2 c.id FROM c WHERE c.type = "note" ORDER BY c.n DESC', { partitionKey: 'alice' })
      .fetchAll();
    expect(ordered.map((r) => r.id)).toEqual(['a1', 'a3']);
    const { resources: [sum] } = await container.items
      .query<number>('SELECT VALUE SUM(c.n) FROM c WHERE c.userId = "alice"', { partitionKey: 'alice' })
      .fetchAll();
    expect(sum).toBe(10 + 2 + 3);
    // The same query text again (its compiled code reused) with other parameters.
    const byN = async (n: number): Promise<string[]> => (await container.items
      .query<{ id: string }>({ query: 'SELECT c.id FROM c WHERE c.n = @n', parameters: [{ name: '@n', value: n }] }, { partitionKey: 'bob' })
      .fetchAll()).resources.map((r) => r.id);
    expect(await byN(1)).toEqual(['b1']);
    expect(await byN(3)).toEqual(['b3']);
  });

  it('keeps the partitions right across a restart of a kept store', async () => {
    const kept = await startEmbeddedCosmos({ dataDir: dir });
    const first = await openChatContainer({ endpoint: kept.endpoint, key: kept.key, database: 'kept' });
    await first.items.create({ id: 'x', userId: 'alice', type: 'note' });
    await first.items.create({ id: 'y', userId: 'bob', type: 'note' });
    await kept.close();
    const again = await startEmbeddedCosmos({ dataDir: dir });
    try {
      const second = await openChatContainer({ endpoint: again.endpoint, key: again.key, database: 'kept' });
      expect(await ids(second, 'SELECT * FROM c', 'alice')).toEqual(['x']);
      await second.item('x', 'alice').delete();
      expect(await ids(second, 'SELECT * FROM c', 'alice')).toEqual([]);
      expect(await ids(second, 'SELECT * FROM c', 'bob')).toEqual(['y']);
    } finally {
      await again.close();
    }
  });
});
