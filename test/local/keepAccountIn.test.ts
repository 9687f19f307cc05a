import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BulkOperationType, type Container, type OperationInput } from '@azure/cosmos';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../../local/embeddedCosmos.js';
import { DataFolderInUse } from '../../local/keepAccountIn.js';
import { openChatContainer } from '../../src/store/cosmosContainer.js';

const dir = mkdtempSync(join(tmpdir(), 'chat-keep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(dataDir = dir): Promise<{ cosmos: EmbeddedCosmos; container: Container }> {
  const cosmos = await startEmbeddedCosmos({ dataDir });
  const container = await openChatContainer({ endpoint: cosmos.endpoint, key: cosmos.key, database: 'kept' });
  return { cosmos, container };
}

/** Every document with the server's own fields too: `_etag` and `_ts` must come back as they were. */
async function documents(container: Container): Promise<Record<string, unknown>[]> {
  const { resources } = await container.items.query<Record<string, unknown>>('SELECT * FROM c').fetchAll();
  return resources.sort((x, y) => String(x.id).localeCompare(String(y.id)));
}

const journalOf = (folder: string) => join(folder, readdirSync(folder).find((name) => name.startsWith('journal-'))!);

describe('the embedded store with a data folder (keepAccountIn)', () => {
  let kept: Record<string, unknown>[] = [];

  it('keeps creates, replaces, upserts, deletes and batches over a restart (the journal replayed), etags included', async () => {
    const { cosmos, container } = await open();
    expect(cosmos.kept).toEqual({ dropped: 0, documents: 0 });
    await container.items.create({ id: 'a', userId: 'u', text: 'one' });
    await container.items.create({ id: 'b', userId: 'u', text: 'gone' });
    await container.item('a', 'u').replace({ id: 'a', userId: 'u', text: 'two' });
    await container.items.upsert({ id: 'c', userId: 'v', text: 'upserted' });
    await container.item('b', 'u').delete();
    const batch: OperationInput[] = [
      // The partition key on each operation: the embedded store reads it there (as src/store/cosmosBatch.ts sends it).
      { operationType: BulkOperationType.Create, partitionKey: 'u', resourceBody: { id: 'd', userId: 'u', text: 'batched' } },
      { operationType: BulkOperationType.Replace, partitionKey: 'u', id: 'a', resourceBody: { id: 'a', userId: 'u', text: 'three' } },
    ];
    expect((await container.items.batch(batch, 'u')).result?.map((r) => r.statusCode)).toEqual([201, 200]);
    kept = await documents(container);
    expect(kept.map((d) => [d.id, d.text])).toEqual([['a', 'three'], ['c', 'upserted'], ['d', 'batched']]);
    await cosmos.close();

    const again = await open();
    expect(again.cosmos.kept).toEqual({ dropped: 0, documents: 3 });
    expect(await documents(again.container)).toEqual(kept);
    // A new document after the restart gets a resource id of its own, not one of those loaded.
    await again.container.items.create({ id: 'e', userId: 'u', text: 'new' });
    const rids = (await documents(again.container)).map((d) => d._rid);
    expect(new Set(rids).size).toBe(4);
    await again.container.item('e', 'u').delete();
    await again.cosmos.close();
  });

  it('loads the snapshot the previous start wrote, with an empty journal', async () => {
    const { cosmos, container } = await open();
    expect(readFileSync(journalOf(dir), 'utf8')).toBe('');
    expect(await documents(container)).toEqual(kept);
    await cosmos.close();
  });

  it('refuses a folder another run keeps, and takes over the lock of a run that is gone', async () => {
    const { cosmos } = await open();
    await expect(startEmbeddedCosmos({ dataDir: dir })).rejects.toThrow(DataFolderInUse);
    await cosmos.close();
    // A kill -9 leaves the lock behind with the pid of a process that no longer runs.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'lock'), String(gone));
    const again = await open();
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    await again.cosmos.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('keeps the journal up to a bad line and says how many lines it dropped', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'chat-torn-'));
    try {
      const first = await open(folder);
      await first.container.items.create({ id: 'x', userId: 'u' });
      await first.container.items.create({ id: 'y', userId: 'u' });
      await first.cosmos.close();
      const journal = journalOf(folder);
      const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
      // y's line cut in half, then a whole line after it: both dropped, x kept.
      writeFileSync(journal, `${lines.slice(0, -1).join('\n')}\n${lines.at(-1)!.slice(0, 20)}\n`);
      appendFileSync(journal, `${lines.at(-1)!}\n`);
      const second = await open(folder);
      expect(second.cosmos.kept).toEqual({ dropped: 2, documents: 1 });
      expect((await documents(second.container)).map((d) => d.id)).toEqual(['x']);
      await second.cosmos.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
