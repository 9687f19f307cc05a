import type { Container } from '@azure/cosmos';
import type { DayUsage, UsageEntry, UsageLedger } from '../chat/UsageLedger.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import { queryPartition } from './cosmosQuery.js';
import { usageTurnDocument } from './documents.js';

/** What a day's row is built from: a turn's document, or a day's totals written by an earlier version. */
interface UsageRow {
  type: 'usageTurn' | 'usageDay';
  day: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** `usageDay` only. */
  requests?: number;
}

/**
 * The usage ledger in the chat container: one document per turn that used tokens (`usageTurnDocument`; a turn's
 * final message is stored in the same batch, see CosmosConversations.settleMessage). Recording a turn is one create, which cannot conflict with another
 * turn's: nothing is read, nothing is replaced, so no burst of concurrent turns can make it give up. Totals are
 * computed from the turn documents when asked (a SUM for the quota check, a range query for `GET /api/usage`), so
 * they always equal them. Earlier versions also kept a `usageDay` document per day, replaced under an etag; those
 * are read for the days they cover but never written.
 */
export class CosmosUsageLedger implements UsageLedger {
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
  }

  async tokensOn(userId: string, day: string): Promise<number> {
    const [sum] = await queryPartition<number | undefined>(
      this.#container, userId,
      'SELECT VALUE SUM(c.totalTokens) FROM c WHERE c.userId = @userId AND c.type = "usageTurn" AND c.day = @day',
      { day },
    );
    return typeof sum === 'number' ? sum : 0;
  }

  async record(userId: string, entry: UsageEntry): Promise<void> {
    try {
      await this.#container.items.create(usageTurnDocument(userId, entry));
    } catch (error) {
      // Already there: this turn was recorded before (a retried settle whose first answer was lost, a replay).
      if (cosmosStatus(error) === 409) return;
      throw toChatError(error);
    }
  }

  async days(userId: string, from: string, to: string): Promise<readonly DayUsage[]> {
    const rows = await queryPartition<UsageRow>(
      this.#container, userId,
      'SELECT c.type, c.day, c.promptTokens, c.completionTokens, c.totalTokens, c.requests FROM c ' +
        'WHERE c.userId = @userId AND c.type IN ("usageTurn", "usageDay") AND c.day >= @from AND c.day <= @to',
      { from, to },
    );
    const turns = new Map<string, DayUsage>();
    const legacy = new Map<string, DayUsage>();
    for (const row of rows) {
      const { day, promptTokens, completionTokens, totalTokens } = row;
      if (row.type === 'usageDay') {
        legacy.set(day, { date: day, promptTokens, completionTokens, totalTokens, requests: row.requests ?? 0 });
        continue;
      }
      const sum = turns.get(day) ?? { date: day, promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 };
      turns.set(day, {
        date: day,
        promptTokens: sum.promptTokens + promptTokens,
        completionTokens: sum.completionTokens + completionTokens,
        totalTokens: sum.totalTokens + totalTokens,
        requests: sum.requests + 1,
      });
    }
    // A day written before turn documents existed has only its totals; since then every turn has its document, and
    // a day's old totals can only have missed turns (the contention this ledger removes), never held extra ones.
    for (const [day, old] of legacy) {
      const counted = turns.get(day);
      if (!counted || old.totalTokens > counted.totalTokens) turns.set(day, old);
    }
    return [...turns.values()].sort((a, b) => a.date.localeCompare(b.date));
  }
}
