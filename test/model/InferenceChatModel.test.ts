import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { UpstreamError } from '../../src/chat/errors.js';
import type { CompletionEvent, CompletionRequest } from '../../src/chat/ports.js';
import { InferenceChatModel, type InferenceChatModelOptions } from '../../src/model/InferenceChatModel.js';
import { SEED_ANSWER, SEED_QUESTION } from '../../local/phiSimulator/replyFor.js';
import type { PhiSimulator, RecordedRequest } from '../../local/phiSimulator/startPhiSimulator.js';
import { startTestSimulator } from '../support/simulator.js';

// Phi-3.5 named, not the default model: what a managed-compute endpoint on this API serves, and what the counts below are.
const sim: PhiSimulator = await startTestSimulator({ modelId: 'phi-3.5-mini-instruct' });
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const warnings: string[] = [];
function model(options: Partial<InferenceChatModelOptions> = {}): InferenceChatModel {
  return new InferenceChatModel({
    endpoint: sim.url,
    apiKey: 'local-test-key',
    firstByteTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    retryBudgetMs: 5_000,
    maxConcurrency: 8,
    logger: { warn: (m) => warnings.push(m) },
    ...options,
  });
}

const seedRequest: CompletionRequest = {
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: SEED_QUESTION },
  ],
  settings: { maxTokens: 2_048 },
};

interface Outcome {
  deltas: string[];
  end?: Extract<CompletionEvent, { type: 'end' }>;
  error?: unknown;
}

async function run(m: InferenceChatModel, request: CompletionRequest = seedRequest): Promise<Outcome> {
  const outcome: Outcome = { deltas: [] };
  try {
    for await (const event of await m.stream(request)) {
      if (event.type === 'delta') outcome.deltas.push(event.content);
      else outcome.end = event;
    }
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

function upstream(error: unknown): UpstreamError {
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

const body = (r: RecordedRequest | undefined): Record<string, unknown> => r?.body as Record<string, unknown>;

describe('InferenceChatModel against the Phi simulator', () => {
  it('reads /info once and caches it', async () => {
    const m = model();
    expect(await m.info()).toEqual({ modelName: 'Phi-3.5-Mini-Instruct', modelType: 'chat-completions', modelProviderName: 'Microsoft' });
    await m.info();
    expect(sim.requests.filter((r) => r.path === '/info')).toHaveLength(1);
  });

  it('gives null info when the endpoint has no /info', async () => {
    expect(await model({ endpoint: `${sim.url}/no-such-prefix` }).info()).toBeNull();
  });

  it('streams the reply as deltas, then one end with the model\'s usage, finish reason and model', async () => {
    const outcome = await run(model());
    expect(outcome.error).toBeUndefined();
    expect(outcome.deltas.join('')).toBe(SEED_ANSWER);
    expect(outcome.deltas.length).toBeGreaterThan(10);
    expect(outcome.end).toEqual({
      type: 'end',
      finishReason: 'stop',
      usage: { promptTokens: 19, completionTokens: sim.usageTotals.completionTokens, totalTokens: 19 + sim.usageTotals.completionTokens },
      model: 'Phi-3.5-Mini-Instruct',
    });
    const [request] = sim.completionRequests;
    expect(request?.headers['api-key']).toBe('local-test-key');
    expect(request?.headers['extra-parameters']).toBeUndefined();
    expect(body(request)).toEqual({ messages: seedRequest.messages, stream: true, max_tokens: 2_048 });
  });

  it('maps every setting to its snake_case wire name and sends the deployment as model', async () => {
    const m = model({ deployment: 'phi-35-mini' });
    const outcome = await run(m, {
      messages: [{ role: 'user', content: 'Hello there.' }],
      settings: { maxTokens: 64, temperature: 0.5, topP: 0.9, stop: ['zzz'], presencePenalty: 0.1, frequencyPenalty: 0.8, seed: 7 },
    });
    expect(outcome.end?.model).toBe('phi-35-mini');
    expect(body(sim.completionRequests[0])).toEqual({
      messages: [{ role: 'user', content: 'Hello there.' }],
      stream: true,
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      stop: ['zzz'],
      presence_penalty: 0.1,
      frequency_penalty: 0.8,
      seed: 7,
      model: 'phi-35-mini',
    });
  });

  it('sends extra parameters with extra-parameters: pass-through, only when there are some', async () => {
    await run(model(), { ...seedRequest, extra: { logprobs: true, topLogprobs: 3, logitBias: { '1128': -100 } } });
    const [request] = sim.completionRequests;
    expect(request?.headers['extra-parameters']).toBe('pass-through');
    expect(body(request)).toMatchObject({ logprobs: true, top_logprobs: 3, logit_bias: { '1128': -100 } });
    await run(model(), { ...seedRequest, extra: {} });
    expect(sim.completionRequests[1]?.headers['extra-parameters']).toBeUndefined();
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

  it('gives up on 503 with upstream_unavailable, and does not retry 500 (upstream_error)', async () => {
    sim.faults.next({ kind: 'status', status: 503, retryAfterMs: 10 }, 3);
    expect(upstream((await run(model({ maxAttempts: 3 }))).error).code).toBe('upstream_unavailable');
    expect(sim.completionRequests).toHaveLength(3);
    sim.reset();
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
    const url = closed.url;
    await closed.close();
    expect(upstream((await run(model({ endpoint: url }))).error).code).toBe('upstream_unavailable');
  });

  it('bounds upstream calls in flight; streams hold their slot until they end', async () => {
    const slow = await startTestSimulator({ chunkDelayMs: 5, replyWords: 10 });
    try {
      const m = model({ endpoint: slow.url, maxConcurrency: 2 });
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => run(m, { messages: [{ role: 'user', content: 'hi' }], settings: { maxTokens: 100 } })));
      expect(outcomes.every((o) => o.end?.finishReason === 'stop')).toBe(true);
      expect(slow.completionRequests).toHaveLength(5);
      expect(slow.peakOpenCompletions).toBe(2);
      expect(m.load).toEqual({ inFlight: 0, queued: 0 });
    } finally {
      await slow.close();
    }
  });

  it('releases the slot when the reader stops early', async () => {
    const m = model({ maxConcurrency: 1 });
    for await (const event of await m.stream(seedRequest)) {
      if (event.type === 'delta') break;
    }
    expect(m.load.inFlight).toBe(0);
    expect((await run(m)).end?.finishReason).toBe('stop');
  });

  describe('an aborted signal', () => {
    const hi: CompletionRequest = { messages: [{ role: 'user', content: 'hi' }], settings: { maxTokens: 100 } };

    it('closes a started stream upstream, makes the iterator throw its reason and frees the slot', async () => {
      const m = model({ maxConcurrency: 1 });
      sim.faults.next({ kind: 'chunkDelayMs', ms: 200 });
      const lease = new AbortController();
      const reason = new UpstreamError('upstream_timeout', 'lease lost');
      const outcome = run(m, { ...hi, signal: lease.signal });
      await vi.waitFor(() => expect(sim.openCompletions).toBe(1));
      lease.abort(reason);
      const { error, end, deltas } = await outcome;
      expect(error).toBe(reason);
      expect(end).toBeUndefined();
      expect(deltas.length).toBeLessThan(10);
      await vi.waitFor(() => expect(sim.completionRequests[0]!.closedAt).toBeDefined());
      expect(m.load.inFlight).toBe(0);
    });

    it('rejects a pending request, a retry wait and a wait for a slot with its reason', async () => {
      const m = model({ maxConcurrency: 1 });
      const reason = new Error('lease lost');
      // A pending request: the first byte never comes in time.
      sim.faults.next({ kind: 'firstByteDelayMs', ms: 3_000 });
      const pending = new AbortController();
      const first = m.stream({ ...hi, signal: pending.signal });
      await vi.waitFor(() => expect(sim.openCompletions).toBe(1));
      pending.abort(reason);
      await expect(first).rejects.toBe(reason);
      // A retry wait: throttled with a long retry-after.
      sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 3_000 });
      const retrying = new AbortController();
      const second = m.stream({ ...hi, signal: retrying.signal });
      await vi.waitFor(() => expect(sim.completionRequests.at(-1)?.status).toBe(429));
      retrying.abort(reason);
      await expect(second).rejects.toBe(reason);
      expect(sim.completionRequests).toHaveLength(2);
      // A wait for a slot: the only slot is held by a stream nobody reads yet.
      const holder = await m.stream(hi);
      const waiting = new AbortController();
      const third = m.stream({ ...hi, signal: waiting.signal });
      waiting.abort(reason);
      await expect(third).rejects.toBe(reason);
      for await (const _ of holder) { /* read out */ }
      expect(m.load).toEqual({ inFlight: 0, queued: 0 });
    });
  });
});
