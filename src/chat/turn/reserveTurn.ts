import { ChatError, StoreUnavailableError } from '../errors.js';
import type { Reservation, ReservationLimits } from '../TurnReservations.js';
import { secondsToUtcMidnight, utcDay } from '../UsageLedger.js';
import type { TurnDeps } from './TurnDeps.js';

/** Retry-After for a start that met only contention: the turns causing it last seconds at most. */
const CONTENDED_RETRY_AFTER_SECONDS = 1;

/** Takes the turn's reservation, or refuses the turn with a 429 before anything of it is stored. */
export async function reserveTurn(deps: TurnDeps, userId: string, reservation: Reservation, now: Date): Promise<void> {
  const limit = deps.userDailyTokenLimit;
  const maxConcurrentTurns = deps.userMaxConcurrentTurns;
  let outcome;
  try {
    outcome = await deps.reservations.reserve(userId, reservation, reservationLimits(deps), utcDay(now), now);
  } catch (error) {
    // The write may have landed with its answer lost: a reservation left behind would hold a slot of the caller's
    // cap (and its tokens) for the whole lease. Releasing is idempotent, so it is safe either way.
    if (error instanceof StoreUnavailableError) await releaseTurnReservation(deps, userId, reservation.id);
    throw error;
  }
  if (outcome.taken) return;
  if (outcome.reason === 'quota_exceeded') {
    throw new ChatError('quota_exceeded', `The daily limit of ${limit ?? 0} tokens is used up until midnight UTC (counting the turns still running).`, {
      dailyTokenLimit: limit,
      usedToday: outcome.spentToday,
      reservedTokens: outcome.reservedTokens,
    }, secondsToUtcMidnight(now));
  }
  if (outcome.reason === 'contended') {
    // The caller's own turns are starting and settling faster than this one could take its place: a burst of its
    // own making, so it waits like a caller at its cap.
    throw new ChatError('rate_limited', "This caller's other turns kept starting and finishing while this one tried to start; try again shortly.", {
      maxConcurrentTurns,
    }, CONTENDED_RETRY_AFTER_SECONDS);
  }
  throw new ChatError('rate_limited', `At most ${maxConcurrentTurns} turns of one caller run at once; try again when one has finished.`, {
    maxConcurrentTurns,
    turnsInFlight: outcome.turnsInFlight,
  }, Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1_000) / 1_000)));
}

/** The caller's limits a turn's reservation is decided against. */
export function reservationLimits(deps: TurnDeps): ReservationLimits {
  return { dailyTokenLimit: deps.userDailyTokenLimit, maxConcurrentTurns: deps.userMaxConcurrentTurns };
}

/** For a turn that reserved but did not start (or was lost): a reservation left behind only expires, so a failure is logged. */
export async function releaseTurnReservation(deps: TurnDeps, userId: string, turnId: string): Promise<void> {
  await deps.reservations.release(userId, turnId, deps.clock.now())
    .catch((error: unknown) => deps.log?.('could not release the reservation of a turn that did not start or was lost; safe: it expires with its lease', error));
}
