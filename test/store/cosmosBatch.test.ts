import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JSONObject } from '@azure/cosmos';
import { transactionalBatch } from '../../src/store/cosmosBatch.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/**
 * The embedded store runs a batch one operation at a time and keeps what ran before a failure; transactionalBatch
 * must leave nothing of a failed batch on it, as Cosmos DB would.
 */
let s: TestStore;
const PK = 'batch-user';

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

async function read(id: string): Promise<Record<string, unknown> | undefined> {
  const { resource } = await s.container.item(id, PK).read<Record<string, unknown>>();
  return resource;
}

describe('transactionalBatch', () => {
  it('applies every write when none fails', async () => {
    const { resource } = await s.container.items.create({ id: 'doc-ok', userId: PK, n: 1 });
    const outcome = await transactionalBatch(s.container, PK, [
      { kind: 'replace', body: { id: 'doc-ok', userId: PK, n: 2 }, ifMatch: resource!._etag, original: resource as unknown as JSONObject },
      { kind: 'create', body: { id: 'doc-ok-new', userId: PK } },
    ]);
    expect(outcome.ok).toBe(true);
    expect((await read('doc-ok'))?.n).toBe(2);
    expect(await read('doc-ok-new')).toBeDefined();
  });

  it('puts back a replaced document when a later write fails', async () => {
    const { resource } = await s.container.items.create({ id: 'doc-a', userId: PK, n: 1 });
    await s.container.items.create({ id: 'taken', userId: PK });
    const outcome = await transactionalBatch(s.container, PK, [
      { kind: 'replace', body: { id: 'doc-a', userId: PK, n: 2 }, ifMatch: resource!._etag, original: resource as unknown as JSONObject },
      { kind: 'create', body: { id: 'taken', userId: PK } },
    ]);
    expect(outcome).toEqual({ ok: false, failedIndex: 1, status: 409 });
    expect((await read('doc-a'))?.n).toBe(1);
  });

  it('removes a created document when a later conditional replace fails', async () => {
    await s.container.items.create({ id: 'doc-b', userId: PK, n: 1 });
    const outcome = await transactionalBatch(s.container, PK, [
      { kind: 'create', body: { id: 'doc-b-new', userId: PK } },
      { kind: 'replace', body: { id: 'doc-b', userId: PK, n: 2 }, ifMatch: '"stale"', original: { id: 'doc-b', userId: PK, n: 1 } },
    ]);
    expect(outcome).toEqual({ ok: false, failedIndex: 1, status: 412 });
    expect(await read('doc-b-new')).toBeUndefined();
    expect((await read('doc-b'))?.n).toBe(1);
  });
});
