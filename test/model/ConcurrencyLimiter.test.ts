import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/model/ConcurrencyLimiter.js';

describe('ConcurrencyLimiter', () => {
  it('lets `limit` callers in and queues the rest in arrival order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    const order: number[] = [];
    const a = (await limiter.acquire())!;
    const b = (await limiter.acquire())!;
    const waiting = [3, 4].map((n) => limiter.acquire().then((release) => (order.push(n), release)));
    await Promise.resolve();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(2);
    a();
    const c = await waiting[0];
    expect(order).toEqual([3]);
    expect(limiter.inFlight).toBe(2);
    b();
    const d = await waiting[1];
    expect(order).toEqual([3, 4]);
    c?.();
    d?.();
    expect(limiter.inFlight).toBe(0);
  });

  it('answers null at once to a caller that will not wait, without putting it in the line', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const held = (await limiter.acquire())!;
    const waiter = limiter.acquire();
    expect(await limiter.acquire(0)).toBeNull();
    expect(limiter.queued).toBe(1);
    held();
    const next = (await waiter)!;
    expect(limiter.inFlight).toBe(1);
    next();
    const free = (await limiter.acquire(0))!;
    expect(limiter.inFlight).toBe(1);
    free();
  });

  it('ignores a second release of the same slot', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = (await limiter.acquire())!;
    release();
    release();
    expect(limiter.inFlight).toBe(0);
    const again = (await limiter.acquire())!;
    expect(limiter.inFlight).toBe(1);
    again();
  });

  it('gives up on a caller that waited longer than it allows, and takes it off the queue', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const held = (await limiter.acquire())!;
    const timedOut = await limiter.acquire(20);
    expect(timedOut).toBeNull();
    expect(limiter.queued).toBe(0);
    const patient = limiter.acquire(10_000);
    held();
    const next = await patient;
    expect(next).toBeTypeOf('function');
    expect(limiter.inFlight).toBe(1);
    next!();
    expect(limiter.inFlight).toBe(0);
  });

  it('takes an aborted caller off the queue with the signal\'s reason; the next release goes to the one behind it', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const held = (await limiter.acquire())!;
    const controller = new AbortController();
    const reason = new Error('gone');
    const aborted = limiter.acquire(10_000, controller.signal);
    const behind = limiter.acquire(10_000);
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(limiter.queued).toBe(1);
    held();
    const next = (await behind)!;
    expect(limiter.inFlight).toBe(1);
    next();
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.acquire(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(limiter.inFlight).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(RangeError);
  });
});
