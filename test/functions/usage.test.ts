import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { USER_DAILY_TOKEN_LIMIT: '100000', PHI_RETRY_BUDGET_MS: '300' } });
});
afterAll(() => t.close());
beforeEach(() => {
  t.sim.reset();
  t.clock.set(new Date());
});

const json = { accept: 'application/json' };
const turn = (user: string, id: string, content: string, headers: Record<string, string> = json) =>
  call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content }, headers });
const usage = async (user: string, query = '') => (await call(t.api, 'GET', `/usage${query}`, { user })).body;

describe('the usage ledger', () => {
  it('equals what the simulator reported, across a 429 retry, a replay, a dropped stream and concurrent turns', async () => {
    const user = 'ledger-user';
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => newConversation(t.api, user)));

    t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 20 }, 1);
    expect((await turn(user, a!, 'retried once')).status).toBe(201);

    const key = { ...json, 'idempotency-key': 'ledger-key' };
    expect((await turn(user, a!, 'replayed', key)).status).toBe(201);
    expect((await turn(user, a!, 'replayed', key)).status).toBe(201);

    t.sim.faults.next({ kind: 'dropAfterChunks', chunks: 4 });
    const dropped = await turn(user, b!, 'dropped', {});
    expect(dropped.events.at(-1)!.event).toBe('error');

    const concurrent = await Promise.all([turn(user, b!, 'together 1'), turn(user, c!, 'together 2')]);
    expect(concurrent.map((r) => r.status)).toEqual([201, 201]);

    // What the model reported, plus the service's estimate for the dropped stream (the simulator sent no usage).
    const messages = (await Promise.all([a, b, c].map((id) => call(t.api, 'GET', `/conversations/${id}/messages`, { user }))))
      .flatMap((r) => r.body.items as { role: string; usage?: { totalTokens: number; estimated?: boolean } }[])
      .filter((m) => m.role === 'assistant');
    const estimated = messages.filter((m) => m.usage?.estimated).map((m) => m.usage!.totalTokens);
    expect(estimated).toHaveLength(1);
    const reported = t.sim.usageTotals;
    const totals = (await usage(user)).totals;
    expect(totals.totalTokens).toBe(reported.totalTokens + estimated[0]!);
    expect(totals.requests).toBe(5);
    expect(totals.totalTokens).toBe(messages.reduce((sum, m) => sum + (m.usage?.totalTokens ?? 0), 0));
    // One 429, then five calls: the replay made none.
    expect(t.sim.completionRequests).toHaveLength(6);
  });

  it("keeps two callers' usage apart", async () => {
    const id = await newConversation(t.api, 'spender');
    await turn('spender', id, 'spend');
    expect((await usage('spender')).totals.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    const other = await usage('bystander');
    expect(other.totals).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 });
    expect(other.days).toEqual([]);
  });

  it('reports per-day rows, totals over the range and the quota', async () => {
    const user = 'daily-user';
    const id = await newConversation(t.api, user);
    t.clock.set('2026-03-01T10:00:00Z');
    await turn(user, id, 'day one');
    const first = t.sim.usageTotals.totalTokens;
    t.clock.set('2026-03-03T10:00:00Z');
    await turn(user, id, 'day three');
    const second = t.sim.usageTotals.totalTokens - first;

    const body = await usage(user, '?from=2026-03-01&to=2026-03-03');
    expect(body.from).toBe('2026-03-01');
    expect(body.to).toBe('2026-03-03');
    expect(body.days.map((d: { date: string; totalTokens: number }) => [d.date, d.totalTokens])).toEqual([
      ['2026-03-01', first],
      ['2026-03-03', second],
    ]);
    expect(body.totals.totalTokens).toBe(first + second);
    expect(body.quota).toMatchObject({ dailyTokenLimit: 100000, remainingToday: 100000 - second, reservedTokens: 0 });
    expect((await usage(user, '?from=2026-03-02&to=2026-03-02')).days).toEqual([]);
    // `to` defaults to today and `from` to `to`.
    expect((await usage(user)).from).toBe('2026-03-03');
  });

  it.each([
    ['?from=2026-02-30', 'from'],
    ['?from=yesterday', 'from'],
    ['?to=2026-13-01', 'to'],
    ['?from=2026-03-05&to=2026-03-01', 'from'],
    ['?from=2025-01-01&to=2026-03-01', 'from'],
    ['?from=2026-01-01&from=2026-01-02', 'from'],
    ['?day=2026-01-01', 'day'],
  ])('answers %s with 400 problem+json', async (query, field) => {
    const res = await call(t.api, 'GET', `/usage${query}`, { user: 'daily-user' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('accepts exactly 366 days', async () => {
    expect((await call(t.api, 'GET', '/usage?from=2025-03-01&to=2026-03-01', { user: 'daily-user' })).status).toBe(200);
  });
});

describe('the daily quota', () => {
  it('reports what a turn in flight holds: remainingToday counts its reservation, and gets it back once it settles', async () => {
    const user = 'in-flight-quota-user';
    const id = await newConversation(t.api, user);
    const spent = (await usage(user)).quota.remainingToday as number;
    expect(spent).toBe(100000);
    t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 1_500 });
    const running = turn(user, id, 'held open');
    await vi.waitFor(() => expect(t.sim.openCompletions).toBe(1), { timeout: 5_000, interval: 10 });
    const during = (await usage(user)).quota;
    const { resource } = await t.container.item('inFlight', user).read<{ reservations: { tokens: number }[] }>();
    const held = resource!.reservations[0]!.tokens;
    expect(held).toBeGreaterThan(0);
    expect(during).toMatchObject({ reservedTokens: held, remainingToday: 100000 - held });

    expect((await running).status).toBe(201);
    const after = (await usage(user)).quota;
    expect(after).toMatchObject({ reservedTokens: 0, remainingToday: 100000 - t.sim.usageTotals.totalTokens });
  });

  it('lets the turn that crosses the limit finish, then refuses the next with 429 and no model call', async () => {
    const user = 'quota-user';
    const id = await newConversation(t.api, user);
    t.clock.set('2026-04-10T23:59:30Z');
    // Spend most of the quota directly in the ledger, as earlier turns would have.
    await t.services.ledger.record(user, {
      turnId: 't_earlier', conversationId: id, model: 'phi-3.5-mini-instruct', day: '2026-04-10',
      usage: { promptTokens: 99_990, completionTokens: 0, totalTokens: 99_990 },
    });
    const crossing = await turn(user, id, 'this one crosses the limit');
    expect(crossing.status).toBe(201);
    const before = t.sim.completionRequests.length;

    const refused = await turn(user, id, 'over the limit');
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('quota_exceeded');
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(t.sim.completionRequests.length).toBe(before);
    const history = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user })).body.items;
    expect(history.map((m: { content: string }) => m.content)).not.toContain('over the limit');
    expect((await usage(user)).quota.remainingToday).toBe(0);

    // After midnight UTC the day starts afresh.
    t.clock.set('2026-04-11T00:00:01Z');
    expect((await turn(user, id, 'a new day')).status).toBe(201);
  });

  it('computes Retry-After to the next UTC midnight at any time of day', async () => {
    const user = 'retry-after-user';
    const id = await newConversation(t.api, user);
    for (const [now, seconds] of [['2026-06-30T00:00:00Z', '86400'], ['2026-06-30T12:00:00.500Z', '43200'], ['2026-12-31T23:59:59Z', '1']] as const) {
      t.clock.set(now);
      await t.services.ledger.record(user, {
        turnId: `t_fill_${now}`, conversationId: id, model: 'phi-3.5-mini-instruct', day: now.slice(0, 10),
        usage: { promptTokens: 100_000, completionTokens: 0, totalTokens: 100_000 },
      });
      const refused = await turn(user, id, 'refused');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe(seconds);
    }
  });
});

describe('deployment throttling', () => {
  it('answers 429 rate_limited with Retry-After when the deployment keeps throttling, and records no usage', async () => {
    const user = 'throttled-user';
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 2000 }, 10);
    const res = await turn(user, id, 'throttled');
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('rate_limited');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(t.sim.completionRequests.length).toBeLessThanOrEqual(2);
    expect((await usage(user)).totals.requests).toBe(0);
  });
});
