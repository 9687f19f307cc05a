import { decideReservation, liveReservations, releaseReservation } from '../../../src/chat/decideReservation.js';
import type { Reservation, ReservationLimits, ReservationOutcome, TurnReservations } from '../../../src/chat/TurnReservations.js';

/**
 * `TurnReservations` in process memory, deciding with the core's `decideReservation` as the Cosmos adapter does.
 * The spent tokens are read after the caller's reservations, and the decision is applied only if those did not
 * change meanwhile (else read again): the same order that makes the Cosmos adapter count a call that settles during
 * a reserve either as spent or as reserved, never neither.
 */
export class MemoryTurnReservations implements TurnReservations {
  readonly #spentOn: (userId: string, day: string) => Promise<number>;
  readonly #open = new Map<string, { version: number; reservations: readonly Reservation[] }>();

  /** `spentOn` is the ledger's total for the day (read only when a limit is set). */
  constructor(spentOn: (userId: string, day: string) => Promise<number>) {
    this.#spentOn = spentOn;
  }

  /** Nothing to read ahead in memory. */
  prepare(): void {}

  async reserve(userId: string, reservation: Reservation, limits: ReservationLimits, day: string, now: Date): Promise<ReservationOutcome> {
    for (;;) {
      const seen = this.#of(userId).version;
      const spentToday = limits.dailyTokenLimit === undefined ? 0 : await this.#spentOn(userId, day);
      const current = this.#of(userId);
      if (current.version !== seen) continue;
      const decision = decideReservation(current.reservations, spentToday, reservation, limits, now);
      if (decision.outcome.taken) this.#set(userId, decision.open);
      return decision.outcome;
    }
  }

  async open(userId: string, now: Date): Promise<readonly Reservation[]> {
    return structuredClone(liveReservations(this.#of(userId).reservations, now));
  }

  async release(userId: string, id: string, now: Date): Promise<void> {
    this.#set(userId, releaseReservation(this.#of(userId).reservations, id, now));
  }

  #of(userId: string): { version: number; reservations: readonly Reservation[] } {
    return this.#open.get(userId) ?? { version: 0, reservations: [] };
  }

  #set(userId: string, reservations: readonly Reservation[]): void {
    const version = this.#of(userId).version + 1;
    this.#open.set(userId, { version, reservations: structuredClone(reservations) });
  }
}
