import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageEntry } from '../../src/chat/UsageLedger.js';
import { newId } from '../../src/chat/ids.js';
import { StoreUnavailableError } from '../../src/chat/errors.js';
import { toProblem } from '../../src/http/problem.js';
import { openChatContainer } from '../../src/store/cosmosContainer.js';
import { CosmosUsageLedger } from '../../src/store/CosmosUsageLedger.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';
import { startTcpProxy } from '../support/tcpProxy.js';

/** The Cosmos ledger's turn documents and legacy day totals; the port-level promises are in `storeContracts.test.ts`. */
let s: TestStore;
const DAY = '2026-06-02';

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

function entry(tokens: number, conversationId = 'c_x'): UsageEntry {
  return { turnId: newId('t'), conversationId, model: 'phi-3.5-mini-instruct', day: DAY, usage: { promptTokens: tokens, completionTokens: 1, totalTokens: tokens + 1 } };
}

async function turnDocuments(userId: string): Promise<Record<string, unknown>[]> {
  const { resources } = await s.container.items
    .query({ query: 'SELECT * FROM c WHERE c.userId = @u AND c.type = "usageTurn"', parameters: [{ name: '@u', value: userId }] })
    .fetchAll();
  return resources as Record<string, unknown>[];
}

describe('CosmosUsageLedger', () => {
  it('counts a turn once when two instances record it at the same moment', async () => {
    const user = 'ledger-same-moment';
    const e = entry(12);
    await Promise.all([new CosmosUsageLedger(s.container).record(user, e), new CosmosUsageLedger(s.container).record(user, e)]);
    expect(await new CosmosUsageLedger(s.container).tokensOn(user, DAY)).toBe(13);
    expect(await turnDocuments(user)).toHaveLength(1);
  });

  it('adds up a burst of concurrent turns of one caller exactly, from two instances, recording some twice', async () => {
    const user = 'ledger-concurrent';
    const instances = [new CosmosUsageLedger(s.container), new CosmosUsageLedger(s.container)];
    const entries = Array.from({ length: 200 }, (_, i) => entry(i + 1));
    // Every tenth turn is recorded again by the other instance at the same moment (a settle retried after a lost answer).
    await Promise.all(entries.flatMap((e, i) => [instances[i % 2]!.record(user, e), ...(i % 10 === 0 ? [instances[(i + 1) % 2]!.record(user, e)] : [])]));
    const expected = entries.reduce((sum, e) => sum + e.usage.totalTokens, 0);
    for (const ledger of instances) expect(await ledger.tokensOn(user, DAY)).toBe(expected);
    const [day] = await instances[0]!.days(user, DAY, DAY);
    expect(day).toEqual({
      date: DAY, requests: 200, totalTokens: expected,
      promptTokens: entries.reduce((sum, e) => sum + e.usage.promptTokens, 0), completionTokens: 200,
    });
    expect(await turnDocuments(user)).toHaveLength(200);
  });

  it('adds to a day another instance started after this one saw it empty', async () => {
    const user = 'ledger-absent';
    const [a, b] = [new CosmosUsageLedger(s.container), new CosmosUsageLedger(s.container)];
    expect(await a.tokensOn(user, DAY)).toBe(0);
    await b.record(user, entry(20));
    await a.record(user, entry(30));
    expect(await b.tokensOn(user, DAY)).toBe(21 + 31);
    expect(await turnDocuments(user)).toHaveLength(2);
  });

  it('reads the totals an earlier version kept for a day without turn documents, and prefers the turns where they count more', async () => {
    const user = 'ledger-legacy';
    const legacy = (day: string, totalTokens: number, requests: number) => s.container.items.create({
      id: `usage_${day}`, userId: user, type: 'usageDay', day, promptTokens: totalTokens - requests, completionTokens: requests, totalTokens, requests, turns: {},
    });
    await legacy('2026-05-01', 500, 3);
    // A day whose old totals missed turns under contention: the turn documents are the truth.
    await legacy(DAY, 2, 1);
    const ledger = new CosmosUsageLedger(s.container);
    await ledger.record(user, entry(9));
    await ledger.record(user, entry(19));
    expect(await ledger.days(user, '2026-05-01', DAY)).toEqual([
      { date: '2026-05-01', promptTokens: 497, completionTokens: 3, totalTokens: 500, requests: 3 },
      { date: DAY, promptTokens: 28, completionTokens: 2, totalTokens: 30, requests: 2 },
    ]);
    expect(await ledger.tokensOn(user, DAY)).toBe(30);
  });

  it('fails as the closed error set says when the store is gone (store_unavailable, a 503 problem), and records the turn once it is back', async () => {
    const user = 'ledger-store-gone';
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.cosmos.endpoint).port) });
    try {
      const container = await openChatContainer({ endpoint: `https://127.0.0.1:${proxy.port}`, key: s.cosmos.key, database: s.container.database.id });
      const ledger = new CosmosUsageLedger(container);
      const e = entry(40);
      await proxy.cut();
      for (const attempt of [() => ledger.record(user, e), () => ledger.tokensOn(user, DAY), () => ledger.days(user, DAY, DAY)]) {
        const error: unknown = await attempt().then(() => null, (failure: unknown) => failure);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(toProblem(error)).toMatchObject({ status: 503, code: 'store_unavailable' });
      }
      await proxy.restore();
      await ledger.record(user, e);
      await ledger.record(user, e);
      expect(await ledger.tokensOn(user, DAY)).toBe(41);
      expect(await turnDocuments(user)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('keeps what a conversation spent after the conversation is deleted', async () => {
    const user = 'ledger-deleted';
    const conversationId = newId('c');
    await s.store.createConversation(user, { id: conversationId, title: 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {}, createdAt: new Date().toISOString() });
    const ledger = new CosmosUsageLedger(s.container);
    const e = entry(7, conversationId);
    await ledger.record(user, e);
    expect(await s.store.deleteConversation(user, conversationId)).toBe(true);
    // Recorded again after the delete (a retried settle): still counted once.
    await new CosmosUsageLedger(s.container).record(user, e);
    expect(await ledger.tokensOn(user, DAY)).toBe(8);
  });
});
