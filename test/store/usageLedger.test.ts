import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageEntry } from '../../src/chat/UsageLedger.js';
import { newId } from '../../src/chat/ids.js';
import { CosmosUsageLedger } from '../../src/store/CosmosUsageLedger.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

let s: TestStore;
const DAY = '2026-06-02';

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

function entry(tokens: number, conversationId = 'c_x'): UsageEntry {
  return { turnId: newId('t'), conversationId, model: 'phi-3.5-mini-instruct', day: DAY, usage: { promptTokens: tokens, completionTokens: 1, totalTokens: tokens + 1 } };
}

async function dayDocument(userId: string): Promise<Record<string, unknown>> {
  const { resource } = await s.container.item(`usage_${DAY}`, userId).read<Record<string, unknown>>();
  if (!resource) throw new Error('no day document');
  return resource;
}

describe('CosmosUsageLedger', () => {
  it('counts a turn once, however often and by however many instances it is recorded', async () => {
    const user = 'ledger-once';
    const [a, b] = [new CosmosUsageLedger(s.container), new CosmosUsageLedger(s.container)];
    const e = entry(10);
    await a.record(user, e);
    await a.record(user, e);
    await b.record(user, e);
    expect(await b.tokensOn(user, DAY)).toBe(11);
    expect(await a.days(user, DAY, DAY)).toEqual([{ date: DAY, promptTokens: 10, completionTokens: 1, totalTokens: 11, requests: 1 }]);
  });

  it('counts a turn once when two instances record it at the same moment', async () => {
    const user = 'ledger-same-moment';
    const e = entry(12);
    await Promise.all([new CosmosUsageLedger(s.container).record(user, e), new CosmosUsageLedger(s.container).record(user, e)]);
    expect(await new CosmosUsageLedger(s.container).tokensOn(user, DAY)).toBe(13);
    expect((await dayDocument(user)).requests).toBe(1);
  });

  it('adds up concurrent turns of one caller exactly, from two instances whose memory of the day goes stale', async () => {
    const user = 'ledger-concurrent';
    const instances = [new CosmosUsageLedger(s.container), new CosmosUsageLedger(s.container)];
    const entries = Array.from({ length: 24 }, (_, i) => entry(i + 1));
    await Promise.all(entries.map((e, i) => instances[i % 2]!.record(user, e)));
    const expected = entries.reduce((sum, e) => sum + e.usage.totalTokens, 0);
    for (const ledger of instances) expect(await ledger.tokensOn(user, DAY)).toBe(expected);
    expect((await dayDocument(user)).requests).toBe(24);
  });

  it('adds to a day another instance started after this one saw it empty', async () => {
    const user = 'ledger-absent';
    const [a, b] = [new CosmosUsageLedger(s.container), new CosmosUsageLedger(s.container)];
    expect(await a.tokensOn(user, DAY)).toBe(0);
    await b.record(user, entry(20));
    await a.record(user, entry(30));
    expect(await b.tokensOn(user, DAY)).toBe(21 + 31);
    expect((await dayDocument(user)).requests).toBe(2);
  });

  it('keeps the day document the same size however many turns the day has', async () => {
    const user = 'ledger-size';
    const ledger = new CosmosUsageLedger(s.container);
    await ledger.record(user, entry(5));
    const strip = (doc: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith('_'))));
    const first = strip(await dayDocument(user)).length;
    for (let i = 0; i < 40; i += 1) await ledger.record(user, entry(5));
    // Only the totals' digits may grow.
    expect(strip(await dayDocument(user)).length).toBeLessThanOrEqual(first + 8);
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
