import { describe, expect, it } from 'vitest';
import type { Reservation, TurnReservations } from '../../../src/chat/TurnReservations.js';
import type { UsageLedger } from '../../../src/chat/UsageLedger.js';

/** One instance of the service: its ledger and its reservation writer, over data every instance shares. */
export interface ReservationsInstance {
  readonly ledger: UsageLedger;
  readonly reservations: TurnReservations;
}

const DAY = '2026-06-02';
const NOW = new Date(`${DAY}T12:00:00Z`);
const LEASE = new Date(NOW.getTime() + 600_000).toISOString();
let users = 0;

const reservation = (id: string, tokens: number, expiresAt = LEASE, turn = true): Reservation => ({ id, tokens, expiresAt, turn });

/**
 * The `TurnReservations` port's promises: the limit and the cap hold under contention from several instances, a
 * settled call is counted as spent or as reserved (never neither), a lost instance's reservation expires, a retried
 * reserve takes no second place. `makeInstance` is called once per instance a test plays.
 */
export function describeTurnReservationsContract(name: string, makeInstance: () => ReservationsInstance): void {
  describe(`TurnReservations contract: ${name}`, () => {
    const caller = (): string => `reserve-contract-${(users += 1)}`;
    const instances = (): [ReservationsInstance, ReservationsInstance] => [makeInstance(), makeInstance()];

    it('never lets concurrent reserves from two instances take more than the limit allows', async () => {
      const user = caller();
      const [a, b] = instances();
      const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).reservations.reserve(user, reservation(`t${i}`, 7), { dailyTokenLimit: 50, maxConcurrentTurns: 1000 }, DAY, NOW)));
      // 7 tokens each against 50: the 8th crosses the limit and is the last one taken.
      expect(outcomes.filter((o) => o.taken)).toHaveLength(8);
      expect(outcomes.every((o) => o.taken || ['quota_exceeded', 'rate_limited'].includes(o.reason))).toBe(true);
      expect(await b.reservations.reserve(user, reservation('after', 1), { dailyTokenLimit: 50, maxConcurrentTurns: 1000 }, DAY, NOW))
        .toEqual({ taken: false, reason: 'quota_exceeded', spentToday: 0, reservedTokens: 56, turnsInFlight: 8 });
    });

    it('caps the turns in flight across instances and frees a place on release', async () => {
      const user = caller();
      const [a, b] = instances();
      const limits = { dailyTokenLimit: undefined, maxConcurrentTurns: 3 };
      const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).reservations.reserve(user, reservation(`t${i}`, 1), limits, DAY, NOW)));
      const takenIds = outcomes.flatMap((o, i) => (o.taken ? [`t${i}`] : []));
      expect(takenIds).toHaveLength(3);
      expect(outcomes.filter((o) => !o.taken).map((o) => !o.taken && o.reason)).toEqual(Array(9).fill('rate_limited'));

      await b.reservations.release(user, takenIds[0]!, NOW);
      expect((await a.reservations.reserve(user, reservation('late', 1), limits, DAY, NOW)).taken).toBe(true);
      expect((await b.reservations.reserve(user, reservation('later', 1), limits, DAY, NOW)).taken).toBe(false);
    });

    it('decides on what the other instances did since this one last wrote: their releases free places, their reserves take them', async () => {
      const user = caller();
      const [a, b] = instances();
      const limits = { dailyTokenLimit: 100, maxConcurrentTurns: 1 };
      expect((await a.reservations.reserve(user, reservation('one', 10), limits, DAY, NOW)).taken).toBe(true);
      // Released by another instance (a lost turn settled there): the place is free, though this instance last saw it taken.
      await b.reservations.release(user, 'one', NOW);
      a.reservations.prepare(user, DAY, limits);
      expect((await a.reservations.reserve(user, reservation('two', 10), limits, DAY, NOW)).taken).toBe(true);
      await b.reservations.release(user, 'two', NOW);
      expect((await a.reservations.reserve(user, reservation('three', 10), limits, DAY, NOW)).taken).toBe(true);
      // Taken by another instance since this one's last write: the cap holds.
      await a.reservations.release(user, 'three', NOW);
      expect((await b.reservations.reserve(user, reservation('theirs', 100), limits, DAY, NOW)).taken).toBe(true);
      expect(await a.reservations.reserve(user, reservation('mine', 1), limits, DAY, NOW)).toMatchObject({ taken: false, reason: 'rate_limited', turnsInFlight: 1 });
      a.reservations.prepare(user, DAY, { ...limits, maxConcurrentTurns: 5 });
      expect(await a.reservations.reserve(user, reservation('mine', 10), { ...limits, maxConcurrentTurns: 5 }, DAY, NOW)).toMatchObject({ taken: false, reason: 'quota_exceeded', reservedTokens: 100 });
    });

    it("counts a settled call's usage once it is released: spent tokens and reservations are never both missed", async () => {
      const user = caller();
      const [a, b] = instances();
      const limits = { dailyTokenLimit: 100, maxConcurrentTurns: 10 };
      expect((await a.reservations.reserve(user, reservation('first', 60), limits, DAY, NOW)).taken).toBe(true);
      // It settles as a settle does: usage recorded, then the reservation released.
      await a.ledger.record(user, { turnId: 'first', conversationId: 'c', model: 'm', day: DAY, usage: { promptTokens: 50, completionTokens: 20, totalTokens: 70 } });
      await a.reservations.release(user, 'first', NOW);
      expect((await b.reservations.reserve(user, reservation('second', 30), limits, DAY, NOW)).taken).toBe(true);
      expect(await b.reservations.reserve(user, reservation('third', 1), limits, DAY, NOW)).toMatchObject({ taken: false, reason: 'quota_exceeded', spentToday: 70, reservedTokens: 30 });
    });

    it('refuses at exactly the limit and takes one token below it, the call that crosses included', async () => {
      const user = caller();
      const { ledger, reservations } = makeInstance();
      await ledger.record(user, { turnId: 'spent', conversationId: 'c', model: 'm', day: DAY, usage: { promptTokens: 89, completionTokens: 10, totalTokens: 99 } });
      expect((await reservations.reserve(user, reservation('crosses', 500), { dailyTokenLimit: 100, maxConcurrentTurns: 5 }, DAY, NOW)).taken).toBe(true);
      expect(await reservations.reserve(user, reservation('after', 1), { dailyTokenLimit: 100, maxConcurrentTurns: 5 }, DAY, NOW))
        .toMatchObject({ taken: false, reason: 'quota_exceeded', spentToday: 99, reservedTokens: 500, turnsInFlight: 1 });
      const exact = caller();
      await ledger.record(exact, { turnId: 'spent-exact', conversationId: 'c', model: 'm', day: DAY, usage: { promptTokens: 90, completionTokens: 10, totalTokens: 100 } });
      expect(await reservations.reserve(exact, reservation('none', 1), { dailyTokenLimit: 100, maxConcurrentTurns: 5 }, DAY, NOW))
        .toMatchObject({ taken: false, reason: 'quota_exceeded', spentToday: 100, reservedTokens: 0, turnsInFlight: 0 });
      // Another day's spending is not today's.
      expect((await reservations.reserve(exact, reservation('tomorrow', 1), { dailyTokenLimit: 100, maxConcurrentTurns: 5 }, '2026-06-03', NOW)).taken).toBe(true);
    });

    it('counts a side call\'s tokens but not its place among the turns, and says when a place frees', async () => {
      const user = caller();
      const { reservations } = makeInstance();
      const limits = { dailyTokenLimit: 100, maxConcurrentTurns: 1 };
      const soon = new Date(NOW.getTime() + 3_000).toISOString();
      expect((await reservations.reserve(user, reservation('turn', 40, soon), limits, DAY, NOW)).taken).toBe(true);
      expect((await reservations.reserve(user, reservation('title', 60, LEASE, false), limits, DAY, NOW)).taken).toBe(true);
      const busy = await reservations.reserve(user, reservation('turn2', 1), limits, DAY, NOW);
      expect(busy).toMatchObject({ taken: false, reason: 'rate_limited', turnsInFlight: 1, reservedTokens: 100 });
      expect(!busy.taken && busy.reason === 'rate_limited' && busy.retryAfterMs).toBe(3_000);
      expect(await reservations.reserve(user, reservation('title2', 1, LEASE, false), limits, DAY, NOW)).toMatchObject({ taken: false, reason: 'quota_exceeded' });
    });

    it('lets a lost instance\'s reservation expire with its lease; a retried reserve takes no second place; releasing what is gone is fine', async () => {
      const user = caller();
      const [a, b] = instances();
      const limits = { dailyTokenLimit: undefined, maxConcurrentTurns: 1 };
      const soon = new Date(NOW.getTime() + 5_000).toISOString();
      expect((await a.reservations.reserve(user, reservation('lost', 1, soon), limits, DAY, NOW)).taken).toBe(true);
      expect((await b.reservations.reserve(user, reservation('next', 1), limits, DAY, NOW)).taken).toBe(false);
      const afterLease = new Date(NOW.getTime() + 6_000);
      expect((await b.reservations.reserve(user, reservation('next', 1), limits, DAY, afterLease)).taken).toBe(true);
      expect((await a.reservations.reserve(user, reservation('next', 1), limits, DAY, afterLease)).taken).toBe(true);
      await a.reservations.release(user, 'next', afterLease);
      await b.reservations.release(user, 'next', afterLease);
      await b.reservations.release(user, 'never-taken', afterLease);
      expect((await a.reservations.reserve(user, reservation('fresh', 1), limits, DAY, afterLease)).taken).toBe(true);
    });
  });
}
