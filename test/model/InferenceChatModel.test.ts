import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedRequest, PhiSimulator } from '../../local/phiSimulator/startPhiSimulator.js';
import { ADAPTERS, run, seedRequest, type AdapterOptions } from '../support/chatModelAdapters.js';
import { startTestSimulator } from '../support/simulator.js';

/**
 * What only the inference wire does: `/info`, the `api-key` header, no `model` unless a deployment is named, and
 * `extra-parameters: pass-through`. Retries, timeouts, faults and cancellation: chatModelAdapters.test.ts, over
 * both wires.
 */
const sim: PhiSimulator = await startTestSimulator({ modelId: 'phi-3.5-mini-instruct' });
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const inference = ADAPTERS.find((a) => a.wire === 'inference')!;
const model = (options: AdapterOptions = {}) => inference.make(sim, options);
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

  it('sends the key as api-key and the body without a model when no deployment is named', async () => {
    const outcome = await run(model());
    expect(outcome.end?.finishReason).toBe('stop');
    const [request] = sim.completionRequests;
    expect(request?.path).toBe('/chat/completions');
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
});
