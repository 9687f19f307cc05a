import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { PhiSimulator, RecordedRequest } from '../../local/phiSimulator/startPhiSimulator.js';
import { OpenAIChatModel } from '../../src/model/OpenAIChatModel.js';
import { ADAPTERS, DEPLOYMENT, run, seedRequest, type AdapterOptions } from '../support/chatModelAdapters.js';
import { startTestSimulator } from '../support/simulator.js';

/**
 * What only the OpenAI v1 wire does: the bearer key or an Entra ID token for `https://ai.azure.com/.default`,
 * `model` = the deployment, `stream_options.include_usage`, extra parameters as plain body fields, no `/info`.
 * Retries, timeouts, faults and cancellation: chatModelAdapters.test.ts, over both wires.
 */
const sim: PhiSimulator = await startTestSimulator({ modelId: 'phi-3.5-mini-instruct' });
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const openai = ADAPTERS.find((a) => a.wire === 'openai')!;
const model = (options: AdapterOptions = {}) => openai.make(sim, options);
const body = (r: RecordedRequest | undefined): Record<string, unknown> => r?.body as Record<string, unknown>;

/** A credential that hands out a fixed token and records the scopes it was asked for. */
function tokenCredential(token: string): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: (asked: string | string[]): Promise<AccessToken> => {
      scopes.push(...(Array.isArray(asked) ? asked : [asked]));
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

const common = { firstByteTimeoutMs: 5_000, idleTimeoutMs: 5_000, retryBudgetMs: 1_000, maxConcurrency: 4, logger: { warn: () => {} } };

describe('OpenAIChatModel against the Phi simulator', () => {
  it('posts to {endpoint}/chat/completions with the key as a bearer token, the deployment as model and include_usage', async () => {
    const outcome = await run(model());
    expect(outcome.end).toMatchObject({ finishReason: 'stop', model: DEPLOYMENT, usage: { promptTokens: 19 } });
    const [request] = sim.completionRequests;
    expect(request?.path).toBe('/openai/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer local-test-key');
    expect(request?.headers['api-key']).toBeUndefined();
    expect(body(request)).toEqual({
      messages: seedRequest.messages, stream: true, max_tokens: 2_048, model: DEPLOYMENT, stream_options: { include_usage: true },
    });
  });

  it('maps every setting, seed and the extra parameters to the OpenAI fields, with no extra-parameters header', async () => {
    await run(model(), {
      messages: [{ role: 'user', content: 'Hello there.' }],
      settings: { maxTokens: 64, temperature: 0.5, topP: 0.9, stop: ['zzz'], presencePenalty: 0.1, frequencyPenalty: 0.8, seed: 7 },
      extra: { logprobs: true, topLogprobs: 3, logitBias: { '1128': -100 } },
    });
    const [request] = sim.completionRequests;
    expect(request?.headers['extra-parameters']).toBeUndefined();
    expect(body(request)).toEqual({
      messages: [{ role: 'user', content: 'Hello there.' }],
      stream: true,
      stream_options: { include_usage: true },
      model: DEPLOYMENT,
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      stop: ['zzz'],
      presence_penalty: 0.1,
      frequency_penalty: 0.8,
      seed: 7,
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '1128': -100 },
    });
  });

  it('works under any prefix that ends in /v1', async () => {
    const outcome = await run(model({ endpoint: `${sim.url}/v1` }));
    expect(outcome.end?.finishReason).toBe('stop');
    expect(sim.completionRequests[0]?.path).toBe('/v1/chat/completions');
  });

  it('has no /info: info() is null and asks nothing', async () => {
    expect(await model().info()).toBeNull();
    expect(sim.requests).toHaveLength(0);
  });

  it('without a key, sends an Entra ID token for https://ai.azure.com/.default, or for PHI_TOKEN_SCOPE', async () => {
    const keyed = await startTestSimulator({ apiKey: 'entra-token' });
    try {
      const credential = tokenCredential('entra-token');
      const m = new OpenAIChatModel({ endpoint: keyed.openaiUrl, deployment: DEPLOYMENT, credential, ...common });
      expect((await run(m)).end?.finishReason).toBe('stop');
      expect(keyed.completionRequests[0]?.headers.authorization).toBe('Bearer entra-token');
      expect(credential.scopes).toEqual(['https://ai.azure.com/.default']);

      const scoped = tokenCredential('entra-token');
      const other = new OpenAIChatModel({ endpoint: keyed.openaiUrl, deployment: DEPLOYMENT, credential: scoped, tokenScope: 'https://cognitiveservices.azure.com/.default', ...common });
      expect((await run(other)).end?.finishReason).toBe('stop');
      expect(scoped.scopes).toEqual(['https://cognitiveservices.azure.com/.default']);
    } finally {
      await keyed.close();
    }
  });

  it('reports a refused key as upstream_error 401, not retried', async () => {
    const keyed = await startTestSimulator({ apiKey: 'right' });
    try {
      const m = new OpenAIChatModel({ endpoint: keyed.openaiUrl, deployment: DEPLOYMENT, apiKey: 'wrong', ...common });
      const outcome = await run(m);
      expect(outcome.error).toMatchObject({ code: 'upstream_error', upstreamStatus: 401 });
      expect(keyed.completionRequests).toHaveLength(1);
    } finally {
      await keyed.close();
    }
  });

  it('bounds a credential that never answers by the first-byte deadline and by the abort; the slot is freed', async () => {
    const stuck: TokenCredential = { getToken: () => new Promise<AccessToken>(() => {}) };
    const m = new OpenAIChatModel({ endpoint: sim.openaiUrl, deployment: DEPLOYMENT, credential: stuck, ...common, firstByteTimeoutMs: 150, maxConcurrency: 2 });
    expect((await run(m)).error).toMatchObject({ code: 'upstream_timeout' });
    expect(m.load.inFlight).toBe(0);
    const patient = new OpenAIChatModel({ endpoint: sim.openaiUrl, deployment: DEPLOYMENT, credential: stuck, ...common, firstByteTimeoutMs: 60_000, maxConcurrency: 2 });
    const reason = new Error('the turn lost its lock');
    const controller = new AbortController();
    const call = patient.stream({ ...seedRequest, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(call).rejects.toBe(reason);
    expect(patient.load.inFlight).toBe(0);
    expect(sim.completionRequests).toHaveLength(0);
  });

  it('frees the slot of a stream returned before its first read', async () => {
    const m = model({ maxConcurrency: 2 });
    const stream = await m.stream(seedRequest);
    expect(m.load.inFlight).toBe(1);
    await stream[Symbol.asyncIterator]().return?.();
    expect(m.load.inFlight).toBe(0);
  });

  it('needs a key or a credential', () => {
    expect(() => new OpenAIChatModel({ endpoint: sim.openaiUrl, deployment: DEPLOYMENT, ...common })).toThrow(/API key or a token credential/);
  });
});
