import { describe, expect, it } from 'vitest';
import { ReplyCheckpoints } from '../../src/chat/ReplyCheckpoints.js';

function manualClock() {
  let now = 0;
  return { clock: { now: () => new Date(now) }, advance: (ms: number) => (now += ms) };
}

describe('ReplyCheckpoints', () => {
  it('saves at most once per interval, never two at a time, and settled() waits for the running save', async () => {
    const { clock, advance } = manualClock();
    const saved: string[] = [];
    let finish: (() => void) | undefined;
    const checkpoints = new ReplyCheckpoints(
      (text) => new Promise<void>((resolve) => {
        saved.push(text);
        finish = resolve;
      }),
      100,
      clock,
      (error) => {
        throw error;
      },
    );
    checkpoints.offer('a');
    expect(saved).toEqual([]);
    advance(100);
    checkpoints.offer('ab');
    expect(saved).toEqual(['ab']);
    advance(500);
    checkpoints.offer('abc');
    expect(saved).toEqual(['ab']);

    let settled = false;
    const waiting = checkpoints.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    finish!();
    await waiting;
    expect(settled).toBe(true);

    checkpoints.offer('abcd');
    expect(saved).toEqual(['ab', 'abcd']);
  });

  it('reports a failed save to onFailure without failing the turn (the final write stores the reply) and saves again later', async () => {
    const { clock, advance } = manualClock();
    let calls = 0;
    const failures: unknown[] = [];
    const checkpoints = new ReplyCheckpoints(async () => {
      calls += 1;
      throw new Error('store down');
    }, 10, clock, (error) => failures.push(error));
    advance(10);
    checkpoints.offer('x');
    await checkpoints.settled();
    advance(10);
    checkpoints.offer('xy');
    await checkpoints.settled();
    expect(calls).toBe(2);
    expect(failures.map((e) => (e as Error).message)).toEqual(['store down', 'store down']);
  });
});
