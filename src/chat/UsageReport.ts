import { remainingTokens } from './decideReservation.js';
import { ValidationError } from './errors.js';
import type { TurnReservations } from './TurnReservations.js';
import { secondsToUtcMidnight, utcDay, type DayUsage, type UsageLedger } from './UsageLedger.js';

/** The days asked for (`YYYY-MM-DD`, UTC), as the query string gave them. */
export interface UsageQuery {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** Today's quota, counted as a turn's start counts it. */
export interface DailyQuota {
  readonly dailyTokenLimit: number | null;
  /** What a new turn can still reserve (`remainingTokens`): 0 means the next turn is refused. */
  readonly remainingToday: number | null;
  /** Held by the caller's turns in flight (prompt + `maxTokens` each) until they settle. */
  readonly reservedTokens: number;
  readonly resetsInSeconds: number;
}

export interface UsageTotals {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly requests: number;
}

/** What `GET /api/usage` reports. */
export interface UsageReport {
  readonly from: string;
  readonly to: string;
  readonly totals: UsageTotals;
  readonly days: readonly DayUsage[];
  readonly quota: DailyQuota;
}

export interface UsageSources {
  readonly ledger: UsageLedger;
  readonly reservations: TurnReservations;
  readonly dailyTokenLimit: number | undefined;
}

/** The most days one report covers. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

/** The span a query asks for: `to` defaults to today, `from` to `to`; at most {@link MAX_REPORT_DAYS} days, in order. */
export function usageSpan(query: UsageQuery, now: Date): { readonly from: string; readonly to: string } {
  const to = query.to ?? utcDay(now);
  const from = query.from ?? to;
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (span < 1) throw new ValidationError('"from" must not be after "to".', [{ field: 'from', message: 'after to' }]);
  if (span > MAX_REPORT_DAYS) {
    throw new ValidationError(`At most ${MAX_REPORT_DAYS} days at a time.`, [{ field: 'from', message: `more than ${MAX_REPORT_DAYS} days before to` }]);
  }
  return { from, to };
}

/** The caller's usage over the span the query asks for, its totals, and today's quota at `now`. */
export async function usageReport(sources: UsageSources, userId: string, query: UsageQuery, now: Date): Promise<UsageReport> {
  const { from, to } = usageSpan(query, now);
  const [days, quota] = await Promise.all([sources.ledger.days(userId, from, to), dailyQuota(sources, userId, now)]);
  return { from, to, totals: totalsOf(days), days, quota };
}

/** Spent and reserved tokens together, so `remainingToday` 0 means the next turn is refused. */
async function dailyQuota({ ledger, reservations, dailyTokenLimit: limit }: UsageSources, userId: string, now: Date): Promise<DailyQuota> {
  const [spent, open] = await Promise.all([
    limit === undefined ? 0 : ledger.tokensOn(userId, utcDay(now)),
    reservations.open(userId, now),
  ]);
  const reservedTokens = open.reduce((sum, r) => sum + r.tokens, 0);
  return {
    dailyTokenLimit: limit ?? null,
    remainingToday: remainingTokens(limit, spent, reservedTokens),
    reservedTokens,
    resetsInSeconds: secondsToUtcMidnight(now),
  };
}

function totalsOf(days: readonly DayUsage[]): UsageTotals {
  return days.reduce(
    (t, d) => ({
      promptTokens: t.promptTokens + d.promptTokens,
      completionTokens: t.completionTokens + d.completionTokens,
      totalTokens: t.totalTokens + d.totalTokens,
      requests: t.requests + d.requests,
    }),
    { promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 },
  );
}
