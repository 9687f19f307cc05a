import type { TurnReservations } from './TurnReservations.js';
import { secondsToUtcMidnight, utcDay, type UsageLedger } from './UsageLedger.js';

/** Today's quota as `GET /api/usage` reports it. */
export interface DailyQuota {
  readonly dailyTokenLimit: number | null;
  /** What a new turn can still reserve: limit − spent − reserved, floored at 0 (null without a limit). */
  readonly remainingToday: number | null;
  /** Held by the caller's turns in flight (prompt + `maxTokens` each) until they settle. */
  readonly reservedTokens: number;
  readonly resetsInSeconds: number;
}

/**
 * The caller's quota at `now`, counted as a turn's start counts it: spent and reserved tokens together, so
 * `remainingToday` 0 means the next turn is refused.
 */
export async function dailyQuota(
  ledger: UsageLedger, reservations: TurnReservations, userId: string, limit: number | undefined, now: Date,
): Promise<DailyQuota> {
  const [spent, open] = await Promise.all([
    limit === undefined ? 0 : ledger.tokensOn(userId, utcDay(now)),
    reservations.open(userId, now),
  ]);
  const reservedTokens = open.reduce((sum, r) => sum + r.tokens, 0);
  return {
    dailyTokenLimit: limit ?? null,
    remainingToday: limit === undefined ? null : Math.max(0, limit - spent - reservedTokens),
    reservedTokens,
    resetsInSeconds: secondsToUtcMidnight(now),
  };
}
