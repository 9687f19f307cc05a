import { describe, expect, it } from 'vitest';
import { newId } from '../../../src/chat/ids.js';
import type { StopRequests } from '../../../src/chat/StopRequests.js';

let users = 0;

/**
 * The `StopRequests` port's promises: a stop recorded by one instance is seen by every other, keeps its first time,
 * and belongs to its caller only. `makeStops` is called once per instance a test plays.
 */
export function describeStopRequestsContract(name: string, makeStops: () => StopRequests): void {
  describe(`StopRequests contract: ${name}`, () => {
    const caller = (): string => `stops-contract-${(users += 1)}`;

    it('answers null for a turn nobody stopped, and the first time for one stopped twice, on every instance', async () => {
      const user = caller();
      const [a, b] = [makeStops(), makeStops()];
      const turnId = newId('t');
      expect(await b.requestedAt(user, turnId)).toBeNull();
      await a.request(user, turnId, new Date('2026-06-02T10:00:00.000Z'));
      await b.request(user, turnId, new Date('2026-06-02T10:00:05.000Z'));
      expect(await b.requestedAt(user, turnId)).toBe('2026-06-02T10:00:00.000Z');
      expect(await a.requestedAt(user, turnId)).toBe('2026-06-02T10:00:00.000Z');
      expect(await a.requestedAt(user, newId('t'))).toBeNull();
    });

    it("never shows one caller's stop to another", async () => {
      const [owner, other] = [caller(), caller()];
      const stops = makeStops();
      const turnId = newId('t');
      await stops.request(owner, turnId, new Date('2026-06-02T10:00:00.000Z'));
      expect(await stops.requestedAt(other, turnId)).toBeNull();
    });
  });
}
