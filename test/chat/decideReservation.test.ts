import { describe, expect, it } from 'vitest';
import { decideReservation, releaseReservation } from '../../src/chat/decideReservation.js';
import type { Reservation } from '../../src/chat/TurnReservations.js';

const NOW = new Date('2026-06-02T12:00:00Z');
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();
const r = (id: string, tokens: number, expiresInSeconds = 600, turn = true): Reservation => ({ id, tokens, expiresAt: at(expiresInSeconds), turn });
const limits = (dailyTokenLimit: number | undefined, maxConcurrentTurns = 4) => ({ dailyTokenLimit, maxConcurrentTurns });

describe('decideReservation', () => {
  it('takes a reservation while spent + reserved stays below the limit, and adds it to the open ones', () => {
    const d = decideReservation([r('a', 30)], 60, r('b', 50), limits(100), NOW);
    expect(d.outcome).toEqual({ taken: true });
    expect(d.open.map((x) => x.id)).toEqual(['a', 'b']);
  });

  it('refuses with quota_exceeded once spent + reserved reaches the limit, whatever the new call would cost', () => {
    const d = decideReservation([r('a', 40)], 60, r('b', 1), limits(100), NOW);
    expect(d.outcome).toEqual({ taken: false, reason: 'quota_exceeded', spentToday: 60, reservedTokens: 40, turnsInFlight: 1 });
    expect(d.open.map((x) => x.id)).toEqual(['a']);
  });

  it('lets the call that crosses the limit run: the day ends above it by at most that one reservation', () => {
    // A sequence of calls, each reserving 30 against a limit of 100, none settling: exactly 4 are taken.
    let open: readonly Reservation[] = [];
    let taken = 0;
    for (let i = 0; i < 10; i += 1) {
      const d = decideReservation(open, 0, r(`t${i}`, 30), limits(100, 100), NOW);
      open = d.open;
      if (d.outcome.taken) taken += 1;
    }
    expect(taken).toBe(4);
    expect(open.reduce((sum, x) => sum + x.tokens, 0) - 100).toBeLessThan(30);
  });

  it('has no token limit when none is set, only the cap on turns', () => {
    expect(decideReservation([], 10 ** 12, r('a', 10 ** 6), limits(undefined), NOW).outcome).toEqual({ taken: true });
  });

  it('refuses the turn over the cap with rate_limited and a wait until the soonest lease ends, at most 5 s', () => {
    const open = [r('a', 1, 3), r('b', 1, 600)];
    const d = decideReservation(open, 0, r('c', 1), limits(undefined, 2), NOW);
    expect(d.outcome).toMatchObject({ taken: false, reason: 'rate_limited', turnsInFlight: 2, retryAfterMs: 3000 });
    const later = decideReservation([r('a', 1, 60), r('b', 1, 600)], 0, r('c', 1), limits(undefined, 2), NOW);
    expect(later.outcome).toMatchObject({ reason: 'rate_limited', retryAfterMs: 5000 });
  });

  it('counts side calls (titles) against the tokens but not against the cap on turns', () => {
    const open = [r('a', 10), r('title_a', 10, 600, false)];
    expect(decideReservation(open, 0, r('b', 10), limits(1000, 2), NOW).outcome).toEqual({ taken: true });
    expect(decideReservation(open, 0, r('b', 10), limits(1000, 1), NOW).outcome).toMatchObject({ taken: false, reason: 'rate_limited', turnsInFlight: 1 });
    expect(decideReservation(open, 0, r('title_b', 10, 600, false), limits(1000, 1), NOW).outcome).toEqual({ taken: true });
    expect(decideReservation(open, 980, r('title_b', 1, 600, false), limits(1000, 9), NOW).outcome).toMatchObject({ reason: 'quota_exceeded', reservedTokens: 20 });
  });

  it('is idempotent by id: a retried reserve of an open reservation is taken without being counted twice', () => {
    const open = [r('a', 90)];
    const d = decideReservation(open, 0, r('a', 90), limits(100, 1), NOW);
    expect(d.outcome).toEqual({ taken: true });
    expect(d.open).toHaveLength(1);
  });

  it('drops expired reservations (a lost instance): they count neither tokens nor turns', () => {
    const open = [r('lost', 1000, -1), r('live', 10)];
    const d = decideReservation(open, 0, r('b', 10), limits(100, 2), NOW);
    expect(d.outcome).toEqual({ taken: true });
    expect(d.open.map((x) => x.id)).toEqual(['live', 'b']);
  });

  it('releases by id, leaving the others, and releasing what is gone changes nothing', () => {
    const open = [r('a', 1), r('b', 2), r('old', 3, -5)];
    expect(releaseReservation(open, 'a', NOW).map((x) => x.id)).toEqual(['b']);
    expect(releaseReservation(open, 'zzz', NOW).map((x) => x.id)).toEqual(['a', 'b']);
  });
});
