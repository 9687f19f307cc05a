import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** `USER_MAX_CONCURRENT_TURNS` over real sockets: the turn past the cap is refused before anything is stored. */
const CAP = 2;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { USER_MAX_CONCURRENT_TURNS: String(CAP), PHI_MAX_CONCURRENCY: '8' } });
});
afterAll(() => t.close());

const json = { accept: 'application/json' };
const turn = (user: string, id: string, content: string) =>
  call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content }, headers: json });

async function userMessages(user: string): Promise<string[]> {
  const { resources } = await t.container.items
    .query({ query: 'SELECT VALUE c.content FROM c WHERE c.userId = @u AND c.type = "message" AND c.role = "user"', parameters: [{ name: '@u', value: user }] })
    .fetchAll();
  return resources as string[];
}

describe('USER_MAX_CONCURRENT_TURNS', () => {
  it('refuses the turn past the cap with 429 rate_limited and Retry-After, stores nothing of it, and lets others in', async () => {
    const user = 'busy-caller';
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => newConversation(t.api, user)));
    // The first two hold their upstream calls open for a while: two turns in flight.
    t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 1_500 }, CAP);
    const running = [turn(user, a!, 'in flight 1'), turn(user, b!, 'in flight 2')];
    await vi.waitFor(() => expect(t.sim.openCompletions).toBe(CAP), { timeout: 5_000, interval: 10 });
    const completionsBefore = t.sim.completionRequests.length;

    const refused = await turn(user, c!, 'one too many');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body).toMatchObject({ maxConcurrentTurns: CAP, turnsInFlight: CAP, title: 'Too many requests' });
    expect(refused.body.detail).toBe(`At most ${CAP} turns of one caller run at once; try again when one has finished.`);
    expect(t.sim.completionRequests.length).toBe(completionsBefore);
    expect((await userMessages(user)).sort()).toEqual(['in flight 1', 'in flight 2']);
    // The cap is per caller: another caller is not held up by this one.
    const other = await newConversation(t.api, 'other-caller');
    expect((await turn('other-caller', other, 'not affected')).status).toBe(201);

    expect((await Promise.all(running)).map((r) => r.status)).toEqual([201, 201]);
    // Their places are free again once they have settled.
    expect((await turn(user, d!, 'after the others')).status).toBe(201);
    expect((await userMessages(user)).sort()).toEqual(['after the others', 'in flight 1', 'in flight 2']);
  });
});
