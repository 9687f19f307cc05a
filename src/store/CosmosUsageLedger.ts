import type { Container } from '@azure/cosmos';
import type { DayUsage, UsageEntry, UsageLedger } from '../chat/UsageLedger.js';
import { cosmosStatus, guard } from './cosmosErrors.js';

/** One document per caller per UTC day: the day's totals and the turns counted in them. */
interface UsageDayDocument {
  id: string;
  userId: string;
  type: 'usageDay';
  day: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  requests: number;
  /** Turn id → the usage counted for it: what makes `record` idempotent and the totals rebuildable. */
  turns: Record<string, { conversationId: string; model: string; promptTokens: number; completionTokens: number; totalTokens: number; estimated?: boolean }>;
  _etag?: string;
}

const ATTEMPTS = 10;

function dayId(day: string): string {
  return `usage_${day}`;
}

/** The usage ledger in the chat container; quota checks are one point read of today's document. */
export class CosmosUsageLedger implements UsageLedger {
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
  }

  async tokensOn(userId: string, day: string): Promise<number> {
    return (await this.#read(userId, day))?.totalTokens ?? 0;
  }

  async record(userId: string, entry: UsageEntry): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const doc = (await this.#read(userId, entry.day)) ?? {
        id: dayId(entry.day), userId, type: 'usageDay' as const, day: entry.day,
        promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0, turns: {},
      };
      if (Object.hasOwn(doc.turns, entry.turnId)) return;
      const { promptTokens, completionTokens, totalTokens, estimated } = entry.usage;
      doc.turns[entry.turnId] = {
        conversationId: entry.conversationId, model: entry.model, promptTokens, completionTokens, totalTokens,
        ...(estimated ? { estimated: true } : {}),
      };
      doc.promptTokens += promptTokens;
      doc.completionTokens += completionTokens;
      doc.totalTokens += totalTokens;
      doc.requests += 1;
      try {
        if (doc._etag) {
          await this.#container.item(doc.id, userId).replace(doc, { accessCondition: { type: 'IfMatch', condition: doc._etag } });
        } else {
          await this.#container.items.create(doc);
        }
        return;
      } catch (error) {
        const status = cosmosStatus(error);
        // 412: someone else's turn counted first; 409: the day's document was created meanwhile. Read again.
        if (status !== 412 && status !== 409) await guard(() => Promise.reject(error));
      }
    }
    throw new Error(`usage for turn ${entry.turnId} kept conflicting`);
  }

  async days(userId: string, from: string, to: string): Promise<readonly DayUsage[]> {
    const { resources } = await guard(() =>
      this.#container.items
        .query<Pick<UsageDayDocument, 'day' | 'promptTokens' | 'completionTokens' | 'totalTokens' | 'requests'>>(
          {
            query:
              'SELECT c.day, c.promptTokens, c.completionTokens, c.totalTokens, c.requests FROM c ' +
              'WHERE c.userId = @userId AND c.type = "usageDay" AND c.day >= @from AND c.day <= @to',
            parameters: [
              { name: '@userId', value: userId },
              { name: '@from', value: from },
              { name: '@to', value: to },
            ],
          },
          { partitionKey: userId },
        )
        .fetchAll(),
    );
    return resources
      .map(({ day, promptTokens, completionTokens, totalTokens, requests }) => ({ date: day, promptTokens, completionTokens, totalTokens, requests }))
      .sort((a, b) => a.date.localeCompare(b.date));
  }

  async #read(userId: string, day: string): Promise<UsageDayDocument | null> {
    try {
      const { resource } = await this.#container.item(dayId(day), userId).read<UsageDayDocument>();
      return resource ?? null;
    } catch (error) {
      if (cosmosStatus(error) === 404) return null;
      return guard(() => Promise.reject(error));
    }
  }
}
