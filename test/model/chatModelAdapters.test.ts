import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { SEED_ANSWER } from '../../local/phiSimulator/replyFor.js';
import type { PhiSimulator } from '../../local/phiSimulator/startPhiSimulator.js';
import { ADAPTERS, run, seedRequest, until, upstream, warnings } from '../support/chatModelAdapters.js';
import { startTestSimulator } from '../support/simulator.js';

// Pinned, so the seed's 19 prompt tokens hold whatever the catalog's default model is.
const sim: PhiSimulator = await startTestSimulator({ modelId: 'phi-3.5-mini-instruct' });
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe.each(ADAPTERS)('the $wire adapter against the Phi simulator', ({ wire, modelName, make }) => {
  const model = (options: Parameters<typeof make>[1] = {}) => make(sim, options);

  it('streams the reply as deltas, then one end with the model\'s usage, finish reason and model', async () => {
    const outcome = await run(model());
    expect(outcome.error).toBeUndefined();
    expect(outcome.deltas.join('')).toBe(SEED_ANSWER);
    expect(outcome.deltas.length).toBeGreaterThan(10);
    expect(outcome.end).toEqual({
      type: 'end',
      finishReason: 'stop',
      usage: { promptTokens: 19, completionTokens: sim.usageTotals.completionTokens, totalTokens: 19 + sim.usageTotals.completionTokens },
      model: modelName,
    });
    expect(sim.completionRequests.map((r) => r.wire)).toEqual([wire]);
  });

  it('maps finish_reason length', async () => {
    const outcome = await run(model(), { ...seedRequest, settings: { maxTokens: 5 } });
    expect(outcome.end?.finishReason).toBe('length');
    expect(outcome.end?.usage?.completionTokens).toBeLessThanOrEqual(5);
  });

  it('retries 429 twice then succeeds, waiting at least retry-after-ms between attempts', async () => {
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 100 }, 2);
    const outcome = await run(model());
    expect(outcome.error).toBeUndefined();
    expect(outcome.deltas.join('')).toBe(SEED_ANSWER);
    const times = sim.completionRequests.map((r) => r.receivedAt);
    expect(times).toHaveLength(3);
    // lower bounds only; 1 ms of slack for the millisecond granularity of Node's timers
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(99);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(99);
  });

  it('honours x-ms-retry-after-ms and Retry-After in seconds', async () => {
    sim.faults.next({ kind: 'status', status: 503, retryAfterMs: 120, retryAfterHeaders: ['x-ms-retry-after-ms'] });
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 1_000, retryAfterHeaders: ['retry-after'] });
    const outcome = await run(model());
    expect(outcome.error).toBeUndefined();
    const times = sim.completionRequests.map((r) => r.receivedAt);
    expect(times).toHaveLength(3);
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(119);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(999);
  });

  it('gives up with rate_limited when the next wait would exceed the retry budget', async () => {
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 80 }, 5);
    const outcome = await run(model({ retryBudgetMs: 100 }));
    const error = upstream(outcome.error);
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterSeconds).toBe(1);
    expect(error.upstreamStatus).toBe(429);
    expect(sim.completionRequests).toHaveLength(2);
  });

  it('makes exactly one request when the budget allows no retry: the SDK does not retry on its own', async () => {
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 10 }, 5);
    expect(upstream((await run(model({ retryBudgetMs: 0 }))).error).code).toBe('rate_limited');
    expect(sim.completionRequests).toHaveLength(1);
  });

  it('gives up on 503 with upstream_unavailable, and does not retry 500 (upstream_error)', async () => {
    sim.faults.next({ kind: 'status', status: 503, retryAfterMs: 10 }, 3);
    expect(upstream((await run(model({ maxAttempts: 3 }))).error).code).toBe('upstream_unavailable');
    expect(sim.completionRequests).toHaveLength(3);
    sim.reset();
    warnings.length = 0;
    sim.faults.next({ kind: 'status', status: 500 });
    expect(upstream((await run(model())).error).code).toBe('upstream_error');
    expect(sim.completionRequests).toHaveLength(1);
    expect(warnings.some((w) => w.includes('500') && w.includes('The server had an error'))).toBe(true);
    expect(warnings.some((w) => w.includes('local-test-key'))).toBe(false);
  });

  it('reports content_filtered for the seed body, with the code nested or at the top level', async () => {
    sim.faults.next({ kind: 'contentFilter' });
    expect(upstream((await run(model())).error).code).toBe('content_filtered');
    sim.faults.next({ kind: 'contentFilter', codeAtTopLevel: true });
    expect(upstream((await run(model())).error).code).toBe('content_filtered');
    expect(sim.completionRequests).toHaveLength(2);
  });

  it('reports other 4xx, such as an over-window prompt, as upstream_error', async () => {
    const error = upstream((await run(model(), { ...seedRequest, settings: { maxTokens: 200_000 } })).error);
    expect(error.code).toBe('upstream_error');
    expect(error.upstreamStatus).toBe(400);
  });

  it('times out with upstream_timeout when the first byte is late', async () => {
    sim.faults.next({ kind: 'firstByteDelayMs', ms: 1_000 });
    const m = model({ firstByteTimeoutMs: 150 });
    await expect(m.stream(seedRequest)).rejects.toMatchObject({ code: 'upstream_timeout' });
    expect(m.load.inFlight).toBe(0);
  });

  it('counts the wait for the first event against the first-byte deadline when headers come early', async () => {
    sim.faults.next({ kind: 'firstChunkDelayMs', ms: 1_000 });
    const m = model({ firstByteTimeoutMs: 150, idleTimeoutMs: 5_000 });
    const outcome = await run(m);
    expect(outcome.deltas).toEqual([]);
    expect(upstream(outcome.error).code).toBe('upstream_timeout');
    expect(sim.completionRequests).toHaveLength(1);
    expect(m.load.inFlight).toBe(0);
  });

  it('never retries after the first delta: a drop after 3 chunks yields 2 deltas, then upstream_error, 1 request', async () => {
    sim.faults.next({ kind: 'dropAfterChunks', chunks: 3 });
    const m = model();
    const outcome = await run(m);
    expect(outcome.deltas).toEqual(['As', ' of']);
    expect(outcome.end).toBeUndefined();
    expect(upstream(outcome.error).code).toBe('upstream_error');
    expect(sim.completionRequests).toHaveLength(1);
    expect(m.load.inFlight).toBe(0);
  });

  it('throws upstream_error on an unparsable line after what was already yielded', async () => {
    sim.faults.next({ kind: 'garbageLine' });
    const outcome = await run(model());
    expect(outcome.deltas).toEqual(['As']);
    expect(upstream(outcome.error).code).toBe('upstream_error');
  });

  it('throws upstream_timeout when a started stream goes silent', async () => {
    sim.faults.next({ kind: 'neverEnd' });
    const m = model({ idleTimeoutMs: 150 });
    const outcome = await run(m);
    expect(outcome.deltas.join('')).toBe(SEED_ANSWER);
    expect(upstream(outcome.error).code).toBe('upstream_timeout');
    expect(m.load.inFlight).toBe(0);
  });

  it('ends with null usage when the model sends none', async () => {
    sim.faults.next({ kind: 'noUsage' });
    const outcome = await run(model());
    expect(outcome.end).toMatchObject({ finishReason: 'stop', usage: null });
  });

  it('accepts chunks without choices and takes usage from a choices: [] chunk', async () => {
    sim.faults.next({ kind: 'chunkWithoutChoices' });
    const outcome = await run(model());
    expect(outcome.deltas.join('')).toBe(SEED_ANSWER);
    expect(outcome.end?.usage?.promptTokens).toBe(19);
  });

  it('maps a content_filter finish mid-stream', async () => {
    sim.faults.next({ kind: 'filterMidStream', afterChunks: 2 });
    const outcome = await run(model());
    expect(outcome.deltas).toEqual(['As', ' of']);
    expect(outcome.end?.finishReason).toBe('content_filter');
  });

  it('reports upstream_unavailable when nothing listens', async () => {
    const closed = await startTestSimulator();
    await closed.close();
    expect(upstream((await run(make(closed))).error).code).toBe('upstream_unavailable');
  });

  it('bounds upstream calls in flight; streams hold their slot until they end', async () => {
    const slow = await startTestSimulator({ chunkDelayMs: 5, replyWords: 10 });
    try {
      const m = make(slow, { maxConcurrency: 2 });
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => run(m, { messages: [{ role: 'user', content: 'hi' }], settings: { maxTokens: 100 } })));
      expect(outcomes.every((o) => o.end?.finishReason === 'stop')).toBe(true);
      expect(slow.completionRequests).toHaveLength(5);
      expect(slow.peakOpenCompletions).toBe(2);
      expect(m.load).toEqual({ inFlight: 0, queued: 0 });
    } finally {
      await slow.close();
    }
  });

  it('refuses a call that will not wait for a slot at once when none is free, without queueing it or sending it', async () => {
    sim.faults.next({ kind: 'neverEnd' });
    const m = model({ maxConcurrency: 1 });
    const holder = await m.stream(seedRequest);
    const refused = await m.stream({ ...seedRequest, waitForSlot: false }).then(() => null, (error: unknown) => error);
    expect(upstream(refused).code).toBe('upstream_unavailable');
    expect(m.load).toEqual({ inFlight: 1, queued: 0 });
    expect(sim.completionRequests).toHaveLength(1);
    for await (const event of holder) if (event.type === 'delta') break;
    expect((await run(m, { ...seedRequest, waitForSlot: false })).end?.finishReason).toBe('stop');
  });

  it('releases the slot when the reader stops early', async () => {
    const m = model({ maxConcurrency: 1 });
    for await (const event of await m.stream(seedRequest)) {
      if (event.type === 'delta') break;
    }
    expect(m.load.inFlight).toBe(0);
    expect((await run(m)).end?.finishReason).toBe('stop');
  });

  describe('cancellation through the request signal', () => {
    const reason = new Error('the turn lost its lock');

    it('rejects at once, without a request, when the signal is already aborted', async () => {
      const m = model();
      await expect(m.stream({ ...seedRequest, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect(sim.completionRequests).toHaveLength(0);
      expect(m.load).toEqual({ inFlight: 0, queued: 0 });
    });

    it('leaves the wait for a slot with the signal\'s reason; the slot holder is untouched', async () => {
      sim.faults.next({ kind: 'neverEnd' });
      const m = model({ maxConcurrency: 1 });
      const holder = await m.stream(seedRequest);
      const controller = new AbortController();
      const waiting = m.stream({ ...seedRequest, signal: controller.signal });
      await until(() => m.load.queued === 1);
      controller.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      expect(m.load).toEqual({ inFlight: 1, queued: 0 });
      expect(sim.completionRequests).toHaveLength(1);
      for await (const event of holder) if (event.type === 'delta') break;
      expect(m.load.inFlight).toBe(0);
    });

    it('ends a retry wait with the signal\'s reason, sending no further attempt', async () => {
      sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 4_000 }, 3);
      const m = model({ retryBudgetMs: 20_000 });
      const controller = new AbortController();
      const call = m.stream({ ...seedRequest, signal: controller.signal });
      await until(() => sim.completionRequests[0]?.status === 429);
      controller.abort(reason);
      await expect(call).rejects.toBe(reason);
      expect(sim.completionRequests).toHaveLength(1);
      expect(m.load.inFlight).toBe(0);
    });

    it('aborts a request still waiting for its first byte: the simulator sees the connection closed', async () => {
      sim.faults.next({ kind: 'firstByteDelayMs', ms: 4_000 });
      const m = model();
      const controller = new AbortController();
      const call = m.stream({ ...seedRequest, signal: controller.signal });
      await until(() => sim.completionRequests.length === 1);
      controller.abort(reason);
      await expect(call).rejects.toBe(reason);
      await until(() => sim.completionRequests[0]?.closedEarly === true);
      expect(m.load.inFlight).toBe(0);
    });

    it('closes a started stream upstream and throws the reason from the iterator', async () => {
      sim.faults.next({ kind: 'chunkDelayMs', ms: 40 });
      const m = model();
      const controller = new AbortController();
      const deltas: string[] = [];
      let thrown: unknown;
      try {
        for await (const event of await m.stream({ ...seedRequest, signal: controller.signal })) {
          if (event.type === 'delta') deltas.push(event.content);
          if (deltas.length === 2) controller.abort(reason);
        }
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBe(reason);
      expect(deltas).toEqual(['As', ' of']);
      await until(() => sim.completionRequests[0]?.closedEarly === true);
      expect(sim.completionRequests).toHaveLength(1);
      expect(m.load.inFlight).toBe(0);
    });

    it('closes a stream the reader is not reading at the moment of the abort', async () => {
      sim.faults.next({ kind: 'neverEnd' });
      const m = model();
      const controller = new AbortController();
      const stream = await m.stream({ ...seedRequest, signal: controller.signal });
      controller.abort(reason);
      await until(() => sim.completionRequests[0]?.closedEarly === true);
      await expect(stream[Symbol.asyncIterator]().next()).rejects.toBe(reason);
      expect(m.load.inFlight).toBe(0);
    });
  });
});
