import type { DayUsage, UsageEntry, UsageLedger } from '../../../src/chat/UsageLedger.js';

/**
 * `UsageLedger` in process memory: one entry per turn id, the first recorded kept (as the Cosmos ledger's create
 * of `usage_<turnId>` keeps it), totals computed from the entries when asked.
 */
export class MemoryUsageLedger implements UsageLedger {
  readonly #entries = new Map<string, Map<string, UsageEntry>>();

  async tokensOn(userId: string, day: string): Promise<number> {
    return this.#of(userId).filter((e) => e.day === day).reduce((sum, e) => sum + e.usage.totalTokens, 0);
  }

  async record(userId: string, entry: UsageEntry): Promise<void> {
    let turns = this.#entries.get(userId);
    if (!turns) this.#entries.set(userId, (turns = new Map()));
    if (!turns.has(entry.turnId)) turns.set(entry.turnId, structuredClone(entry));
  }

  async days(userId: string, from: string, to: string): Promise<readonly DayUsage[]> {
    const rows = new Map<string, DayUsage>();
    for (const { day, usage } of this.#of(userId)) {
      if (day < from || day > to) continue;
      const sum = rows.get(day) ?? { date: day, promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 };
      rows.set(day, {
        date: day,
        promptTokens: sum.promptTokens + usage.promptTokens,
        completionTokens: sum.completionTokens + usage.completionTokens,
        totalTokens: sum.totalTokens + usage.totalTokens,
        requests: sum.requests + 1,
      });
    }
    return [...rows.values()].sort((a, b) => a.date.localeCompare(b.date));
  }

  #of(userId: string): UsageEntry[] {
    return [...(this.#entries.get(userId)?.values() ?? [])];
  }
}
