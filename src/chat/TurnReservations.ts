/**
 * Tokens held for a model call in flight until it settles: what makes the daily quota and the cap on turns in
 * flight hold however many conversations (and instances) a caller drives at once.
 */
export interface Reservation {
  /** The call's id: a turn id; a regeneration or a title call reserves under its own id the same way. */
  readonly id: string;
  /** The most the call can spend: its prompt tokens + `maxTokens`. */
  readonly tokens: number;
  /** When it stops counting if it is never released (its instance was lost): the end of the turn's lease. */
  readonly expiresAt: string;
  /** True for a turn or a regeneration (counted against `USER_MAX_CONCURRENT_TURNS`); false for a side call (a title). */
  readonly turn: boolean;
}

export interface ReservationLimits {
  /** `USER_DAILY_TOKEN_LIMIT`; undefined: no token limit, only the cap on turns in flight. */
  readonly dailyTokenLimit?: number | undefined;
  /** `USER_MAX_CONCURRENT_TURNS`. */
  readonly maxConcurrentTurns: number;
}

export type ReservationOutcome =
  | { readonly taken: true }
  | {
    readonly taken: false;
    /** `quota_exceeded`: spent + reserved ≥ the limit; `rate_limited`: too many turns in flight. */
    readonly reason: 'quota_exceeded' | 'rate_limited';
    readonly spentToday: number;
    readonly reservedTokens: number;
    readonly turnsInFlight: number;
    /** When asking again can succeed (rate_limited only). */
    readonly retryAfterMs?: number;
  }
  /**
   * Nothing was decided: the caller's reservations kept changing under every attempt (its other turns starting and
   * settling). What that means for the call (the core answers 429 `rate_limited`) is the core's to say.
   */
  | { readonly taken: false; readonly reason: 'contended' };

/**
 * The caller's open reservations. `reserve` decides and records atomically against the caller's usage for `day`
 * and every open reservation (of every instance); it is idempotent by reservation id. `release` never loses a
 * token: the usage record is the source of truth and is written first; a reservation that cannot be released
 * only expires.
 */
export interface TurnReservations {
  /**
   * A reserve for this caller is about to follow: an adapter may start reading what it decides on now, beside the
   * turn's other reads, so the reserve itself costs only its write. A hint: it changes no outcome.
   */
  prepare(userId: string, day: string, limits: ReservationLimits): void;
  reserve(userId: string, reservation: Reservation, limits: ReservationLimits, day: string, now: Date): Promise<ReservationOutcome>;
  /** The caller's reservations still counting at `now` (of every instance). */
  open(userId: string, now: Date): Promise<readonly Reservation[]>;
  /** Removes the reservation (absent is fine); throws when the store keeps failing or conflicting (never `contended`). */
  release(userId: string, id: string, now: Date): Promise<void>;
}
