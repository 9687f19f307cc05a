import { describe, expect, it } from 'vitest';
import { newId } from '../../../src/chat/ids.js';
import type { UsageEntry, UsageLedger } from '../../../src/chat/UsageLedger.js';

const DAY = '2026-06-02';
let users = 0;

function entry(tokens: number, day = DAY): UsageEntry {
  return { turnId: newId('t'), conversationId: 'c_x', model: 'phi-3.5-mini-instruct', day, usage: { promptTokens: tokens, completionTokens: 1, totalTokens: tokens + 1 } };
}

/**
 * The `UsageLedger` port's promises: a turn counted once by turn id, totals that are what was recorded. `makeLedger`
 * is called once per instance of the service a test plays (each call: another instance over the same data).
 */
export function describeUsageLedgerContract(name: string, makeLedger: () => UsageLedger): void {
  describe(`UsageLedger contract: ${name}`, () => {
    const caller = (): string => `ledger-contract-${(users += 1)}`;

    it('counts a turn once, however often and by however many instances it is recorded', async () => {
      const user = caller();
      const [a, b] = [makeLedger(), makeLedger()];
      const e = entry(10);
      await a.record(user, e);
      await a.record(user, e);
      await b.record(user, e);
      expect(await b.tokensOn(user, DAY)).toBe(11);
      expect(await a.days(user, DAY, DAY)).toEqual([{ date: DAY, promptTokens: 10, completionTokens: 1, totalTokens: 11, requests: 1 }]);
    });

    it('counts a turn recorded by several instances at the same moment once, beside the other turns of a burst', async () => {
      const user = caller();
      const [a, b] = [makeLedger(), makeLedger()];
      const entries = Array.from({ length: 20 }, (_, i) => entry(i + 1));
      await Promise.all(entries.flatMap((e, i) => [a.record(user, e), ...(i % 4 === 0 ? [b.record(user, e), a.record(user, e)] : [])]));
      const expected = entries.reduce((sum, e) => sum + e.usage.totalTokens, 0);
      expect(await a.tokensOn(user, DAY)).toBe(expected);
      expect(await b.days(user, DAY, DAY)).toEqual([{ date: DAY, promptTokens: expected - 20, completionTokens: 20, totalTokens: expected, requests: 20 }]);
    });

    it('gives per-day rows for the days in range that have usage, oldest first, for the caller only', async () => {
      const [user, other] = [caller(), caller()];
      const ledger = makeLedger();
      for (const [tokens, day] of [[4, '2026-06-03'], [9, '2026-05-31'], [2, '2026-06-03'], [6, '2026-06-09'], [1, '2026-05-01']] as const) {
        await ledger.record(user, entry(tokens, day));
      }
      await ledger.record(other, entry(100, '2026-06-03'));
      expect(await ledger.days(user, '2026-05-31', '2026-06-09')).toEqual([
        { date: '2026-05-31', promptTokens: 9, completionTokens: 1, totalTokens: 10, requests: 1 },
        { date: '2026-06-03', promptTokens: 6, completionTokens: 2, totalTokens: 8, requests: 2 },
        { date: '2026-06-09', promptTokens: 6, completionTokens: 1, totalTokens: 7, requests: 1 },
      ]);
      expect(await ledger.days(user, '2026-06-04', '2026-06-08')).toEqual([]);
      expect(await ledger.tokensOn(user, '2026-06-03')).toBe(8);
      expect(await ledger.tokensOn(user, '2026-06-04')).toBe(0);
      expect(await makeLedger().tokensOn(caller(), DAY)).toBe(0);
    });
  });
}
