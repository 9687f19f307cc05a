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
});
