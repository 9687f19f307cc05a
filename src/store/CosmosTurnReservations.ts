import type { Container } from '@azure/cosmos';
import { decideReservation, liveReservations, releaseReservation } from '../chat/decideReservation.js';
import { StoreUnavailableError } from '../chat/errors.js';
import type { Reservation, ReservationLimits, ReservationOutcome, TurnReservations } from '../chat/TurnReservations.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import { AGAIN, optimistically } from './optimistically.js';
import { readItem } from './readItem.js';
import { RecentMap } from './RecentMap.js';

/** The caller's calls in flight: one small document in the caller's partition, changed only under its etag. */
interface InFlightDocument {
  id: typeof IN_FLIGHT_ID;
  userId: string;
  type: 'inFlight';
  reservations: Reservation[];
  _etag?: string;
}

type Operation =
  | { readonly kind: 'reserve'; readonly reservation: Reservation; readonly limits: ReservationLimits; readonly day: string; readonly now: Date }
  | { readonly kind: 'release'; readonly id: string; readonly now: Date };

interface Pending {
  readonly operation: Operation;
  readonly resolve: (outcome: ReservationOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** What a reserve's first attempt decides on, read ahead by `prepare`. */
interface Prepared {
  readonly doc: Promise<InFlightDocument | null>;
  readonly day: string;
  /** The day's spent tokens, read after `doc` (see the class comment); null when no limit asks for them. */
  readonly spent: Promise<number> | null;
  readonly at: number;
  /** `doc` is this instance's last write, not a read: a refusal decided on it is confirmed by a read. */
  readonly fromCache: boolean;
}

const IN_FLIGHT_ID = 'inFlight';
/** A read-ahead older than this is not used: the turn it was for went another way (refused, replayed). */
const PREPARED_TTL_MS = 5_000;
const BASE_BACKOFF_MS = 8;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const CONTENDED: ReservationOutcome = { taken: false, reason: 'contended' };

/**
 * Reservations in the caller's `inFlight` document. Each change is read, decide, replace with `If-Match` (create
 * for the first): two instances can never both take the last slot or the last tokens, and a 412 is retried with
 * jittered backoff. The spent tokens are read *after* the document: a call that settled before that read removed
 * its reservation only after its usage was recorded, so it is counted one way or the other; one that settles later
 * changes the etag and the write is retried. On one instance, changes for the same caller are applied in groups
 * (everything that queued while the previous write was out goes into the next one), so a burst of one caller's
 * turns costs a few writes instead of a storm of conflicts. A first attempt starts from the document as this instance
 * last wrote it, when it has: its write is under that etag (a change by another instance since makes it read again),
 * and a refusal decided on it is confirmed by a read, so a caller's turns on one instance cost no read of it at all.
 * The spent tokens are then read after that write, which is what the order above asks.
 */
export class CosmosTurnReservations implements TurnReservations {
  readonly #container: Container;
  readonly #spentOn: (userId: string, day: string) => Promise<number>;
  /** Per caller, what waits for the next write; present while a group is being written. */
  readonly #queues = new Map<string, Pending[]>();
  /** Per caller, the read-ahead of `prepare`, taken by the next reserve's first attempt. */
  readonly #prepared = new RecentMap<string, Prepared>(1_000);
  /** Per caller, the document as this instance last wrote it (null: it deleted it): a first attempt's read, under its etag. */
  readonly #known = new RecentMap<string, InFlightDocument | null>(10_000);

  /** `spentOn` is the ledger's total for the day (read only when a limit is set). */
  constructor(container: Container, spentOn: (userId: string, day: string) => Promise<number>) {
    this.#container = container;
    this.#spentOn = spentOn;
  }

  /**
   * Reads the caller's document now (or takes it as this instance last wrote it), and the day's spent tokens once
   * it is in hand, so a turn's reserve decides on reads made beside the turn's own and costs only its write. Using
   * them later is as safe as reading then: the write is under the etag read, so a change since (a release) makes it
   * read again. Skipped while this instance is writing the caller's document: what it would read is about to change.
   */
  prepare(userId: string, day: string, limits: ReservationLimits): void {
    if (this.#queues.has(userId)) return;
    const known = this.#known.get(userId);
    const doc = known !== undefined ? Promise.resolve(known) : this.#read(userId);
    const spent = limits.dailyTokenLimit === undefined ? null : doc.then(() => this.#spentOn(userId, day));
    // A read-ahead nobody takes must not end as an unhandled rejection; the one that is taken is awaited.
    doc.catch(() => {});
    spent?.catch(() => {});
    this.#prepared.set(userId, { doc, day, spent, at: Date.now(), fromCache: known !== undefined });
  }

  reserve(userId: string, reservation: Reservation, limits: ReservationLimits, day: string, now: Date): Promise<ReservationOutcome> {
    return this.#enqueue(userId, { kind: 'reserve', reservation, limits, day, now });
  }

  async open(userId: string, now: Date): Promise<readonly Reservation[]> {
    return liveReservations((await this.#read(userId))?.reservations ?? [], now);
  }

  async release(userId: string, id: string, now: Date): Promise<void> {
    await this.#enqueue(userId, { kind: 'release', id, now });
  }

  #enqueue(userId: string, operation: Operation): Promise<ReservationOutcome> {
    return new Promise((resolve, reject) => {
      const queued = this.#queues.get(userId);
      if (queued) {
        queued.push({ operation, resolve, reject });
        return;
      }
      this.#queues.set(userId, [{ operation, resolve, reject }]);
      void this.#drain(userId);
    });
  }

  async #drain(userId: string): Promise<void> {
    for (;;) {
      const group = this.#queues.get(userId) ?? [];
      if (group.length === 0) {
        this.#queues.delete(userId);
        return;
      }
      this.#queues.set(userId, []);
      try {
        const outcomes = await this.#apply(userId, group.map((p) => p.operation));
        group.forEach((p, i) => {
          if (outcomes) p.resolve(outcomes[i]!);
          // A release that cannot be written is a failure of the settle (the reservation then only expires); a
          // reserve that cannot be is only a refusal, answered as the core decides.
          else if (p.operation.kind === 'release') p.reject(new StoreUnavailableError('The reservations of this caller kept changing; the reservation expires after its lease.'));
          else p.resolve(CONTENDED);
        });
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
  }

  /**
   * One conditional write for the whole group, retried with jittered backoff on a concurrent change; null when
   * every attempt met one (the group's reserves are then `contended`, its releases rejected).
   */
  async #apply(userId: string, operations: readonly Operation[]): Promise<ReservationOutcome[] | null> {
    // An attempt that decided on this instance's own last write and met a change is no sign of contention: the
    // next one reads, at once.
    let staleCopy = false;
    return optimistically(async (attempt) => {
      if (attempt > 0 && !staleCopy) await sleep(BASE_BACKOFF_MS * 2 ** attempt * (0.5 + Math.random()));
      staleCopy = false;
      const prepared = attempt === 0 ? this.#takePrepared(userId) : undefined;
      const known = attempt === 0 && !prepared ? this.#known.get(userId) : undefined;
      const fromCache = prepared ? prepared.fromCache : known !== undefined;
      // A read-ahead that failed is only a read not made: read now.
      const doc = await (prepared ? prepared.doc.catch(() => this.#read(userId)) : known !== undefined ? Promise.resolve(known) : this.#read(userId));
      const spent = new Map<string, Promise<number>>();
      if (prepared?.spent) spent.set(prepared.day, prepared.spent.catch(() => this.#spentOn(userId, prepared.day)));
      const spentOn = (day: string): Promise<number> => {
        if (!spent.has(day)) spent.set(day, this.#spentOn(userId, day));
        return spent.get(day)!;
      };
      const before = doc?.reservations ?? [];
      let open: readonly Reservation[] = before;
      const outcomes: ReservationOutcome[] = [];
      for (const op of operations) {
        if (op.kind === 'release') {
          open = releaseReservation(open, op.id, op.now);
          outcomes.push({ taken: true });
          continue;
        }
        const spentToday = op.limits.dailyTokenLimit === undefined ? 0 : await spentOn(op.day);
        const decision = decideReservation(open, spentToday, op.reservation, op.limits, op.now);
        open = decision.open;
        outcomes.push(decision.outcome);
      }
      // Nothing added or removed (only refusals, repeats, releases of what is gone): nothing to write. Expired
      // entries are dropped with the next write that has a reason to happen.
      const now = operations[operations.length - 1]!.now;
      if (sameIds(liveReservations(before, now), open)) {
        // Decided without a write: on a copy, another instance's change could be what it missed; a read confirms.
        if (!fromCache) return outcomes;
        staleCopy = true;
        return AGAIN;
      }
      if (await this.#write(userId, doc, [...open])) return outcomes;
      staleCopy = fromCache;
      return AGAIN;
    }, () => null);
  }

  #takePrepared(userId: string): Prepared | undefined {
    const prepared = this.#prepared.get(userId);
    this.#prepared.delete(userId);
    return prepared && Date.now() - prepared.at <= PREPARED_TTL_MS ? prepared : undefined;
  }

  #read(userId: string): Promise<InFlightDocument | null> {
    return readItem<InFlightDocument>(this.#container, IN_FLIGHT_ID, userId);
  }

  /** False when another writer came first (412, or 409 for a document created meanwhile). */
  async #write(userId: string, doc: InFlightDocument | null, reservations: Reservation[]): Promise<boolean> {
    const next: InFlightDocument = { id: IN_FLIGHT_ID, userId, type: 'inFlight', reservations };
    try {
      // A caller with nothing in flight has no document: nothing is left behind by a turn, and nothing to sweep.
      let written: InFlightDocument | null = null;
      if (reservations.length === 0) {
        if (doc) await this.#container.item(IN_FLIGHT_ID, userId).delete({ accessCondition: { type: 'IfMatch', condition: doc._etag ?? '' } });
      } else if (doc?._etag) {
        written = (await this.#container.item(IN_FLIGHT_ID, userId).replace(next, { accessCondition: { type: 'IfMatch', condition: doc._etag } })).resource ?? null;
      } else {
        written = (await this.#container.items.create(next)).resource ?? null;
      }
      if (reservations.length === 0 || written?._etag) this.#known.set(userId, written);
      else this.#known.delete(userId);
      return true;
    } catch (error) {
      this.#known.delete(userId);
      const status = cosmosStatus(error);
      if (status === 412 || status === 409 || status === 404) return false;
      throw toChatError(error);
    }
  }
}

function sameIds(a: readonly Reservation[], b: readonly Reservation[]): boolean {
  return a.length === b.length && a.every((r, i) => r.id === b[i]?.id);
}
