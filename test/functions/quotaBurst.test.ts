import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * One caller fires 200 turns at once over 200 conversations, over real sockets (local host, embedded store,
 * simulator). What is checked is read back from the store and the simulator, not only what the client was told.
 */
const BURST = 200;
const MAX_TOKENS = 16;
// Short replies, quickly: the simulator cuts each at about MAX_TOKENS, so a turn spends about what it reserved.
const FAST = { replyWords: 12, wordsPerChunk: 4 };
const BURST_ENV = { USER_MAX_CONCURRENT_TURNS: String(BURST), PHI_MAX_CONCURRENCY: String(BURST + 1) };

interface StoredUsage { totalTokens: number }

async function burst(t: TestApp, user: string): Promise<TurnResponse[]> {
  const ids = await Promise.all(Array.from({ length: BURST }, () => newConversation(t.api, user, { settings: { maxTokens: MAX_TOKENS } })));
  return Promise.all(ids.map((id, i) =>
    call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: `burst turn ${i}` }, headers: { accept: 'application/json' } })));
}

/** Every message of the caller as stored, straight from the container. */
async function storedMessages(t: TestApp, user: string): Promise<{ role: string; usage?: StoredUsage }[]> {
  const { resources } = await t.container.items
    .query({ query: 'SELECT c.role, c.usage FROM c WHERE c.userId = @u AND c.type = "message"', parameters: [{ name: '@u', value: user }] })
    .fetchAll();
  return resources as { role: string; usage?: StoredUsage }[];
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe('a burst of one caller under a small daily limit', () => {
  const LIMIT = 2_000;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...BURST_ENV, USER_DAILY_TOKEN_LIMIT: String(LIMIT) }, simulator: FAST });
  });
  afterAll(() => t.close());

  it('ends the day above the limit by less than one turn, and every refusal is a 429 that stored nothing', async () => {
    const user = 'burst-limited';
    const responses = await burst(t, user);
    const accepted = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status !== 201);

    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 429));
    expect(refused.every((r) => ['quota_exceeded', 'rate_limited'].includes(r.body.code))).toBe(true);
    expect(refused.filter((r) => r.body.code === 'quota_exceeded').length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);

    const stored = await storedMessages(t, user);
    // A refused turn stored nothing: one user and one assistant message per accepted turn, no more.
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(accepted.length);
    expect(stored.filter((m) => m.role === 'assistant')).toHaveLength(accepted.length);

    const turnTokens = accepted.map((r) => r.body.assistantMessage.usage.totalTokens as number);
    // What each turn held while it ran (prompt + maxTokens): never less than what it spent.
    const reserved = accepted.map((r) => (r.body.context.promptTokens + r.body.context.maxTokens) as number);
    turnTokens.forEach((tokens, i) => expect(tokens).toBeLessThanOrEqual(reserved[i]!));
    const usage = (await call(t.api, 'GET', '/usage', { user })).body;
    const spent = usage.totals.totalTokens as number;
    expect(spent).toBe(sum(stored.map((m) => m.usage?.totalTokens ?? 0)));
    expect(spent).toBe(sum(turnTokens));
    // Above the limit by less than one turn (one turn's reservation: here at most a token or two over its spend).
    expect(spent - LIMIT).toBeLessThan(Math.max(...reserved));
    expect(spent).toBeGreaterThan(LIMIT - Math.max(...reserved) - accepted.length);
    expect(usage.totals.requests).toBe(accepted.length);
    expect(usage.quota.remainingToday).toBe(Math.max(0, LIMIT - spent));
    // The model was called once per accepted turn and never for a refused one.
    expect(t.sim.completionRequests).toHaveLength(accepted.length);
    expect(t.sim.usageTotals.totalTokens).toBe(spent);
  });
});

describe('the same burst without a limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: BURST_ENV, simulator: FAST });
  });
  afterAll(() => t.close());

  it('runs every turn and counts every token once: ledger = stored message usage = the simulator', async () => {
    const user = 'burst-unlimited';
    const responses = await burst(t, user);
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 201));

    const stored = await storedMessages(t, user);
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(BURST);
    const usage = (await call(t.api, 'GET', '/usage', { user })).body;
    expect(usage.totals.requests).toBe(BURST);
    expect(usage.totals.totalTokens).toBe(sum(stored.map((m) => m.usage?.totalTokens ?? 0)));
    expect(usage.totals.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    expect(t.sim.usageTotals.requests).toBe(BURST);
    // Nothing is left in flight once every turn has settled.
    const inFlight = await t.container.items
      .query({ query: 'SELECT * FROM c WHERE c.userId = @u AND c.type = "inFlight"', parameters: [{ name: '@u', value: user }] })
      .fetchAll();
    expect(inFlight.resources).toEqual([]);
  });
});

describe('a staggered burst against the cap, clients retrying until the quota stops them', () => {
  const LIMIT = 2_000;
  const CAP = 8;
  const CLIENTS = 24;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { USER_MAX_CONCURRENT_TURNS: String(CAP), PHI_MAX_CONCURRENCY: String(2 * CAP), USER_DAILY_TOKEN_LIMIT: String(LIMIT) }, simulator: FAST });
  });
  afterAll(() => t.close());

  it('ends above the limit by less than one turn, counts every token once and leaves nothing in flight', async () => {
    const user = 'burst-staggered';
    const ids = await Promise.all(Array.from({ length: CLIENTS }, () => newConversation(t.api, user, { settings: { maxTokens: MAX_TOKENS } })));
    const seen: TurnResponse[] = [];
    // Each client starts a little after the previous one and keeps sending: again after a reply, again soon after
    // rate_limited (not waiting the whole Retry-After, as an impatient client would), until quota_exceeded.
    const client = async (id: string, i: number): Promise<void> => {
      await new Promise((r) => setTimeout(r, i * 15));
      for (let n = 0; ; n += 1) {
        const res = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: `client ${i} turn ${n}` }, headers: { accept: 'application/json' } });
        seen.push(res);
        if (res.status === 429 && res.body.code === 'quota_exceeded') return;
        if (res.status === 429) await new Promise((r) => setTimeout(r, 20));
        else expect(res.status).toBe(201);
      }
    };
    await Promise.all(ids.map(client));

    const accepted = seen.filter((r) => r.status === 201);
    expect(seen.filter((r) => r.status !== 201).every((r) => r.status === 429 && ['quota_exceeded', 'rate_limited'].includes(r.body.code))).toBe(true);
    expect(seen.filter((r) => r.body.code === 'rate_limited').length).toBeGreaterThan(0);
    const stored = await storedMessages(t, user);
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(accepted.length);
    const reserved = accepted.map((r) => (r.body.context.promptTokens + r.body.context.maxTokens) as number);
    const usage = (await call(t.api, 'GET', '/usage', { user })).body;
    const spent = usage.totals.totalTokens as number;
    expect(spent).toBe(sum(stored.map((m) => m.usage?.totalTokens ?? 0)));
    expect(spent).toBe(t.sim.usageTotals.totalTokens);
    expect(spent).toBeGreaterThanOrEqual(LIMIT);
    expect(spent - LIMIT).toBeLessThan(Math.max(...reserved));
    expect(usage.quota).toMatchObject({ remainingToday: 0, reservedTokens: 0 });
    const inFlight = await t.container.items
      .query({ query: 'SELECT * FROM c WHERE c.userId = @u AND c.type = "inFlight"', parameters: [{ name: '@u', value: user }] })
      .fetchAll();
    expect(inFlight.resources).toEqual([]);
  });
});
