import type { Reservation, ReservationLimits, ReservationOutcome } from './TurnReservations.js';

/** The longest Retry-After a caller at its cap is told: turns usually end in seconds, long before their lease. */
const MAX_BUSY_RETRY_MS = 5_000;

export interface ReservationDecision {
  readonly outcome: ReservationOutcome;
  /** The open reservations after the decision (expired ones dropped); equal to the input's live ones when refused. */
  readonly open: readonly Reservation[];
}

/** The reservations still counting at `now`. */
export function liveReservations(open: readonly Reservation[], now: Date): Reservation[] {
  return open.filter((r) => Date.parse(r.expiresAt) > now.getTime());
}

/**
 * The one rule of "remaining quota": what a new turn can still reserve today, limit − spent − reserved, floored at
 * 0 (null without a limit). A turn is refused exactly when it is 0, and `GET /api/usage` reports it.
 */
export function remainingTokens(limit: number | undefined, spentToday: number, reservedTokens: number): number | null {
  return limit === undefined ? null : Math.max(0, limit - spentToday - reservedTokens);
}

/**
 * Whether `wanted` may be taken beside `open`, given what the caller has spent today. The order of the checks is
 * the contract's: an id already open is taken (a retried reserve); a turn over the cap is `rate_limited`; then
 * spent + reserved ≥ limit is `quota_exceeded` (so the call that crosses the limit still runs, and a day ends above
 * it by at most one call's reservation).
 */
export function decideReservation(
  open: readonly Reservation[], spentToday: number, wanted: Reservation, limits: ReservationLimits, now: Date,
): ReservationDecision {
  const live = liveReservations(open, now);
  if (live.some((r) => r.id === wanted.id)) return { outcome: { taken: true }, open: live };
  const turns = live.filter((r) => r.turn);
  const reservedTokens = live.reduce((sum, r) => sum + r.tokens, 0);
  const refusal = { spentToday, reservedTokens, turnsInFlight: turns.length };
  if (wanted.turn && turns.length >= limits.maxConcurrentTurns) {
    const soonest = Math.min(...turns.map((r) => Date.parse(r.expiresAt) - now.getTime()));
    return { outcome: { taken: false, reason: 'rate_limited', ...refusal, retryAfterMs: Math.min(soonest, MAX_BUSY_RETRY_MS) }, open: live };
  }
  if (remainingTokens(limits.dailyTokenLimit, spentToday, reservedTokens) === 0) {
    return { outcome: { taken: false, reason: 'quota_exceeded', ...refusal }, open: live };
  }
  return { outcome: { taken: true }, open: [...live, wanted] };
}

/** The open reservations without `id` (and without the expired ones). */
export function releaseReservation(open: readonly Reservation[], id: string, now: Date): Reservation[] {
  return liveReservations(open, now).filter((r) => r.id !== id);
}
