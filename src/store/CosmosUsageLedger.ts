import type { Container, JSONObject } from '@azure/cosmos';
import type { DayUsage, UsageEntry, UsageLedger } from '../chat/UsageLedger.js';
import { StoreUnavailableError } from '../chat/errors.js';
import { cosmosStatus, guard } from './cosmosErrors.js';
import { transactionalBatch, type BatchWrite } from './cosmosBatch.js';
import { queryPartition } from './cosmosQuery.js';
import { RecentMap } from './RecentMap.js';

/** One document per caller per UTC day: the day's totals, what the quota check reads. */
interface UsageDayDocument {
  id: string;
  userId: string;
  type: 'usageDay';
  day: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  requests: number;
  /** Only on days written before 2026-11-26 (each turn listed), and empty since: see `record`. */
  turns?: Record<string, unknown>;
  _etag?: string | undefined;
}

/** One document per turn: what makes `record` count a turn once, and what the day's totals can be rebuilt from. */
interface UsageTurnDocument {
  id: string;
  userId: string;
  type: 'usageTurn';
  day: string;
  turnId: string;
  conversationId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimated?: boolean;
}

const ATTEMPTS = 10;
/** Day documents remembered from their last read or write (null: read and absent), so recording a turn usually needs no read. */
const REMEMBERED_DAYS = 1024;

function dayId(day: string): string {
  return `usage_${day}`;
}

/**
 * The usage ledger in the chat container. Recording a turn is one transactional batch: create the turn's document
 * (which fails if the turn was counted already) and add it to the day's totals (a replace conditional on the etag).
 * The day document stays the same small size however many turns the day has; the quota check is one point read.
 */
export class CosmosUsageLedger implements UsageLedger {
  readonly #container: Container;
  readonly #remembered = new RecentMap<string, UsageDayDocument | null>(REMEMBERED_DAYS);

  constructor(container: Container) {
    this.#container = container;
  }

  async tokensOn(userId: string, day: string): Promise<number> {
    return (await this.#read(userId, day))?.totalTokens ?? 0;
  }

  async record(userId: string, entry: UsageEntry): Promise<void> {
    const { promptTokens, completionTokens, totalTokens, estimated } = entry.usage;
    const turn: UsageTurnDocument = {
      id: `usage_${entry.turnId}`, userId, type: 'usageTurn', day: entry.day, turnId: entry.turnId,
      conversationId: entry.conversationId, model: entry.model, promptTokens, completionTokens, totalTokens,
      ...(estimated ? { estimated: true } : {}),
    };
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      // First try: the day as this instance last saw it (a stale copy costs one failed batch and a read).
      const recalled = attempt === 0 ? this.#recall(userId, entry.day) : undefined;
      const known = recalled === undefined ? await this.#read(userId, entry.day) : recalled;
      const day: UsageDayDocument = known ?? {
        id: dayId(entry.day), userId, type: 'usageDay', day: entry.day, promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0,
        // Never read or extended now; kept so that a rollback to the version that listed every turn here still works.
        turns: {},
      };
      const next: UsageDayDocument = {
        ...day,
        promptTokens: day.promptTokens + promptTokens,
        completionTokens: day.completionTokens + completionTokens,
        totalTokens: day.totalTokens + totalTokens,
        requests: day.requests + 1,
      };
      const writes: BatchWrite[] = [
        { kind: 'create', body: turn as unknown as JSONObject },
        known?._etag
          ? { kind: 'replace', body: next as unknown as JSONObject, ifMatch: known._etag, original: known as unknown as JSONObject }
          : { kind: 'create', body: next as unknown as JSONObject },
      ];
      const outcome = await transactionalBatch(this.#container, userId, writes);
      if (outcome.ok) {
        const stored = outcome.results[1]?.resourceBody as UsageDayDocument | undefined;
        const etag = outcome.results[1]?.eTag;
        if (stored?._etag || etag) this.#remember(userId, entry.day, stored ?? { ...next, _etag: etag });
        else this.#remembered.delete(`${userId}\n${entry.day}`);
        return;
      }
      // The turn's document exists: it was counted already (a retried settle).
      if (outcome.failedIndex === 0 && outcome.status === 409) return;
      // 412: another turn of this caller counted first; 409: the day's document was created meanwhile. Read again.
      if (outcome.failedIndex === 1 && [404, 409, 412].includes(outcome.status)) continue;
      throw new StoreUnavailableError(`The usage could not be stored (status ${outcome.status}).`);
    }
    throw new Error(`usage for turn ${entry.turnId} kept conflicting`);
  }

  async days(userId: string, from: string, to: string): Promise<readonly DayUsage[]> {
    const rows = await queryPartition<Pick<UsageDayDocument, 'day' | 'promptTokens' | 'completionTokens' | 'totalTokens' | 'requests'>>(
      this.#container, userId,
      'SELECT c.day, c.promptTokens, c.completionTokens, c.totalTokens, c.requests FROM c ' +
        'WHERE c.userId = @userId AND c.type = "usageDay" AND c.day >= @from AND c.day <= @to',
      { from, to },
    );
    return rows
      .map(({ day, promptTokens, completionTokens, totalTokens, requests }) => ({ date: day, promptTokens, completionTokens, totalTokens, requests }))
      .sort((a, b) => a.date.localeCompare(b.date));
  }

  async #read(userId: string, day: string): Promise<UsageDayDocument | null> {
    try {
      const { resource } = await this.#container.item(dayId(day), userId).read<UsageDayDocument>();
      this.#remember(userId, day, resource ?? null);
      return resource ?? null;
    } catch (error) {
      if (cosmosStatus(error) === 404) {
        this.#remember(userId, day, null);
        return null;
      }
      return guard(() => Promise.reject(error));
    }
  }

  /** The remembered day (null: known absent), or undefined when this instance has not seen it. */
  #recall(userId: string, day: string): UsageDayDocument | null | undefined {
    const doc = this.#remembered.get(`${userId}\n${day}`);
    return doc ? { ...doc } : doc;
  }

  #remember(userId: string, day: string, doc: UsageDayDocument | null): void {
    this.#remembered.set(`${userId}\n${day}`, doc ? { ...doc } : null);
  }
}
