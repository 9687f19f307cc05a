import { describe, expect, it } from 'vitest';
import { remainingTokens } from '../../src/chat/decideReservation.js';
import { ValidationError } from '../../src/chat/errors.js';
import { usageReport, usageSpan } from '../../src/chat/UsageReport.js';
import { MemoryTurnReservations } from '../support/memory/MemoryTurnReservations.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';

const NOW = new Date('2026-06-02T22:00:00Z');
const USER = 'usage-report-user';

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('the span was accepted');
}

describe('usageSpan', () => {
  it('defaults to today alone, and `from` to `to`', () => {
    expect(usageSpan({}, NOW)).toEqual({ from: '2026-06-02', to: '2026-06-02' });
    expect(usageSpan({ to: '2026-05-01' }, NOW)).toEqual({ from: '2026-05-01', to: '2026-05-01' });
    expect(usageSpan({ from: '2026-05-01' }, NOW)).toEqual({ from: '2026-05-01', to: '2026-06-02' });
  });

  it('refuses `from` after `to`, with the field named', () => {
    const error = refusal(() => usageSpan({ from: '2026-06-03', to: '2026-06-02' }, NOW));
    expect(error.extra).toEqual({ errors: [{ field: 'from', message: 'after to' }] });
    // `from` defaulted from `to` is never after it; a `from` past today with no `to` is.
    expect(refusal(() => usageSpan({ from: '2026-06-03' }, NOW)).code).toBe('validation_failed');
  });

  it('takes 366 days at a time and refuses 367', () => {
    expect(usageSpan({ from: '2025-06-02', to: '2026-06-02' }, NOW)).toEqual({ from: '2025-06-02', to: '2026-06-02' });
    const error = refusal(() => usageSpan({ from: '2025-06-01', to: '2026-06-02' }, NOW));
    expect([error.message, error.extra]).toEqual(['At most 366 days at a time.', { errors: [{ field: 'from', message: 'more than 366 days before to' }] }]);
  });
});

describe('usageReport', () => {
  async function sources(limit: number | undefined) {
    const ledger = new MemoryUsageLedger();
    const reservations = new MemoryTurnReservations((userId, day) => ledger.tokensOn(userId, day));
    const spend = (day: string, turnId: string, promptTokens: number, completionTokens: number) => ledger.record(USER, {
      turnId, conversationId: 'c_1', model: 'm', day, usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    });
    await spend('2026-06-01', 't_a', 10, 5);
    await spend('2026-06-02', 't_b', 100, 20);
    await spend('2026-06-02', 't_c', 30, 0);
    await reservations.reserve(USER, { id: 't_open', tokens: 400, expiresAt: '2026-06-02T23:00:00Z', turn: true }, { dailyTokenLimit: limit, maxConcurrentTurns: 4 }, '2026-06-02', NOW);
    return { ledger, reservations, dailyTokenLimit: limit };
  }

  it('sums the days of the span and reports what a new turn can still reserve today: limit − spent − reserved', async () => {
    const report = await usageReport(await sources(1_000), USER, { from: '2026-06-01' }, NOW);
    expect(report.from).toBe('2026-06-01');
    expect(report.days.map((d) => [d.date, d.totalTokens, d.requests])).toEqual([['2026-06-01', 15, 1], ['2026-06-02', 150, 2]]);
    expect(report.totals).toEqual({ promptTokens: 140, completionTokens: 25, totalTokens: 165, requests: 3 });
    expect(report.quota).toEqual({ dailyTokenLimit: 1_000, remainingToday: 1_000 - 150 - 400, reservedTokens: 400, resetsInSeconds: 2 * 3600 });
  });

  it('floors what remains at 0, the point where a turn is refused, and reports none without a limit', async () => {
    expect((await usageReport(await sources(500), USER, {}, NOW)).quota).toMatchObject({ remainingToday: 0, reservedTokens: 400 });
    expect((await usageReport(await sources(undefined), USER, {}, NOW)).quota).toMatchObject({ dailyTokenLimit: null, remainingToday: null, reservedTokens: 400 });
    expect((await usageReport(await sources(undefined), USER, {}, NOW)).totals.totalTokens).toBe(150);
  });

  it('checks the span before it reads anything', async () => {
    await expect(usageReport(await sources(1_000), USER, { from: '2026-06-03', to: '2026-06-02' }, NOW)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('remainingTokens', () => {
  it('is 0 exactly where spent + reserved reaches the limit', () => {
    expect([remainingTokens(100, 60, 39), remainingTokens(100, 60, 40), remainingTokens(100, 90, 40)]).toEqual([1, 0, 0]);
    expect(remainingTokens(undefined, 10 ** 9, 0)).toBeNull();
  });
});
