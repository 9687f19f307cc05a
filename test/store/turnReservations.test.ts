import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reservation } from '../../src/chat/TurnReservations.js';
import { CosmosTurnReservations } from '../../src/store/CosmosTurnReservations.js';
import { CosmosUsageLedger } from '../../src/store/CosmosUsageLedger.js';
import { startTestStore, type TestStore } from '../support/embeddedStore.js';

/** The Cosmos adapter's `inFlight` document; the port-level promises are in `storeContracts.test.ts`. */
let s: TestStore;
const DAY = '2026-06-02';
const NOW = new Date(`${DAY}T12:00:00Z`);
const LEASE = new Date(NOW.getTime() + 600_000).toISOString();

beforeAll(async () => {
  s = await startTestStore();
});
afterAll(() => s.close());

/** Two instances of the service: separate ledgers and reservation writers over the same container. */
function instances(): { ledger: CosmosUsageLedger; reservations: CosmosTurnReservations }[] {
  return [0, 1].map(() => {
    const ledger = new CosmosUsageLedger(s.container);
    return { ledger, reservations: new CosmosTurnReservations(s.container, (u, d) => ledger.tokensOn(u, d)) };
  });
}

const reservation = (id: string, tokens: number, expiresAt = LEASE): Reservation => ({ id, tokens, expiresAt, turn: true });

async function inFlightDocument(userId: string): Promise<{ reservations: Reservation[] } | undefined> {
  try {
    return (await s.container.item('inFlight', userId).read<{ reservations: Reservation[] }>()).resource;
  } catch {
    return undefined;
  }
}

describe('CosmosTurnReservations', () => {
  it('never lets two instances take more than the limit allows, however many reserve at once', async () => {
    const user = 'reserve-limit';
    const [a, b] = instances();
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      (i % 2 ? a! : b!).reservations.reserve(user, reservation(`t${i}`, 10), { dailyTokenLimit: 95, maxConcurrentTurns: 1000 }, DAY, NOW)));
    const taken = outcomes.filter((o) => o.taken).length;
    // 10 tokens each against 95: the 10th crosses the limit and is the last one taken.
    expect(taken).toBe(10);
    expect(outcomes.filter((o) => !o.taken).every((o) => !o.taken && ['quota_exceeded', 'rate_limited'].includes(o.reason))).toBe(true);
    expect((await inFlightDocument(user))?.reservations).toHaveLength(10);
  });

  it('lets a lost instance\'s reservation expire with its lease, and leaves no document once nothing is in flight', async () => {
    const user = 'reserve-expiry';
    const [a, b] = instances();
    const limits = { dailyTokenLimit: undefined, maxConcurrentTurns: 1 };
    const soon = new Date(NOW.getTime() + 5_000).toISOString();
    expect((await a!.reservations.reserve(user, reservation('lost', 1, soon), limits, DAY, NOW)).taken).toBe(true);
    expect((await b!.reservations.reserve(user, reservation('next', 1), limits, DAY, NOW)).taken).toBe(false);
    const afterLease = new Date(NOW.getTime() + 6_000);
    expect((await b!.reservations.reserve(user, reservation('next', 1), limits, DAY, afterLease)).taken).toBe(true);
    // A repeated reserve (a retry) is taken again without a second place.
    expect((await a!.reservations.reserve(user, reservation('next', 1), limits, DAY, afterLease)).taken).toBe(true);
    await a!.reservations.release(user, 'next', afterLease);
    expect(await inFlightDocument(user)).toBeUndefined();
  });

  it('under contention that outlasts every attempt, reserves come back contended (the core answers 429) and only releases fail', async () => {
    const user = 'reserve-contended';
    const [a] = instances();
    const limits = { dailyTokenLimit: 1_000, maxConcurrentTurns: 10 };
    expect((await a!.reservations.reserve(user, reservation('held', 1), limits, DAY, NOW)).taken).toBe(true);
    // Another writer changes the document between every read and its write: read after the document, the spent
    // tokens are where that writer gets in.
    let contend = true;
    const contended = new CosmosTurnReservations(s.container, async (u, d) => {
      if (contend) {
        const { resource } = await s.container.item('inFlight', u).read<Record<string, unknown>>();
        await s.container.item('inFlight', u).replace({ ...resource });
      }
      return a!.ledger.tokensOn(u, d);
    });
    // The first change goes out alone; the next three queue behind it and are written as one group.
    const first = contended.reserve(user, reservation('first', 1), limits, DAY, NOW);
    const group = [
      contended.release(user, 'held', NOW).then(() => 'released', (error: unknown) => (error as { code?: string }).code),
      contended.reserve(user, reservation('second', 1), limits, DAY, NOW),
      contended.reserve(user, reservation('third', 1), limits, DAY, NOW),
    ];
    expect(await first).toEqual({ taken: false, reason: 'contended' });
    expect(await Promise.all(group)).toEqual([
      'store_unavailable', { taken: false, reason: 'contended' }, { taken: false, reason: 'contended' },
    ]);
    contend = false;
    expect((await inFlightDocument(user))?.reservations.map((r) => r.id)).toEqual(['held']);
    expect((await contended.reserve(user, reservation('second', 1), limits, DAY, NOW)).taken).toBe(true);
  });

  it('is never fooled by a settle landing between its two reads: the document is read first, the spent tokens after', async () => {
    const user = 'reserve-interleaved';
    const [a] = instances();
    const limits = { dailyTokenLimit: 100, maxConcurrentTurns: 10 };
    expect((await a!.reservations.reserve(user, reservation('first', 60), limits, DAY, NOW)).taken).toBe(true);
    // The settle of 'first' (its usage: the whole limit, then its release) lands right after the spent tokens are
    // read. Read before the document, the total would miss the usage and the document the reservation.
    let settled = false;
    const b = new CosmosTurnReservations(s.container, async (u, d) => {
      const spent = await a!.ledger.tokensOn(u, d);
      if (!settled) {
        settled = true;
        await a!.ledger.record(u, { turnId: 'first', conversationId: 'c', model: 'm', day: DAY, usage: { promptTokens: 60, completionTokens: 40, totalTokens: 100 } });
        await a!.reservations.release(u, 'first', NOW);
      }
      return spent;
    });
    expect(await b.reserve(user, reservation('second', 10), limits, DAY, NOW)).toMatchObject({ taken: false, reason: 'quota_exceeded', spentToday: 100, reservedTokens: 0 });
    expect(settled).toBe(true);
    expect(await inFlightDocument(user)).toBeUndefined();
  });
});
