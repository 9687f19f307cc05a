import { afterAll, describe, expect, it } from 'vitest';
import { buildServices, services, type Services } from '../src/app.js';
import { DEFAULT_MODEL_ID } from '../src/chat/modelCatalog.js';
import type { CompletionEvent } from '../src/chat/ports.js';
import { loadConfig } from '../src/config.js';
import { InferenceChatModel } from '../src/model/InferenceChatModel.js';
import { OpenAIChatModel } from '../src/model/OpenAIChatModel.js';
import { startTestStore } from './support/embeddedStore.js';
import { startTestSimulator } from './support/simulator.js';

describe('services()', () => {
  const saved = { ...process.env };
  afterAll(async () => {
    process.env = saved;
    await (await services()).close();
  });

  it('does not keep a failed build: the next call builds again', async () => {
    // As under func start: services() reads the process environment, where AUTH_MODE must be chosen.
    delete process.env.AUTH_MODE;
    await expect(services()).rejects.toThrow(/^AUTH_MODE="" is not valid/);
    process.env.AUTH_MODE = 'dev';
    process.env.PORT = 'not a port';
    await expect(services()).rejects.toThrow(/^PORT="not a port" is not valid/);
    process.env.PORT = '7071';
    // A build that fails on I/O (no store at that address) is not kept either.
    process.env.COSMOS_ENDPOINT = 'https://127.0.0.1:1';
    process.env.COSMOS_KEY = 'test';
    await expect(services()).rejects.toThrow();
    delete process.env.COSMOS_ENDPOINT;
    delete process.env.COSMOS_KEY;
    const built = await services();
    expect(built.config.cosmos.endpoint).toBeUndefined();
    expect(await services()).toBe(built);
  }, 30_000);

  it('with no model settings plays the catalog\'s default model over the OpenAI v1 wire, as npm start does', async () => {
    const built = await services();
    expect(built.config.phi).toMatchObject({ endpoint: undefined, api: 'openai', model: { id: DEFAULT_MODEL_ID } });
    const events: CompletionEvent[] = [];
    for await (const event of await built.model.stream({ messages: [{ role: 'user', content: 'Hello there.' }], settings: { maxTokens: 16 } })) events.push(event);
    // The v1 wire echoes the body's `model` (the deployment: here the catalog id); the inference wire would name the model.
    expect(events.at(-1)).toMatchObject({ type: 'end', model: DEFAULT_MODEL_ID, usage: { completionTokens: expect.any(Number) } });
    expect(events.some((e) => e.type === 'delta')).toBe(true);
    expect(await built.model.info()).toBeNull();
  }, 30_000);
});

describe('buildServices: the model adapter the settings choose', () => {
  const collect = async (model: Services['model']) => {
    const deltas: string[] = [];
    let end: CompletionEvent | undefined;
    for await (const event of await model.stream({ messages: [{ role: 'user', content: 'hello' }], settings: { maxTokens: 500 } })) {
      if (event.type === 'delta') deltas.push(event.content);
      else end = event;
    }
    return { text: deltas.join(''), end };
  };

  it.each([
    ['openai', OpenAIChatModel],
    ['inference', InferenceChatModel],
  ] as const)('PHI_API=%s builds its adapter, which reaches the endpoint over that wire', async (api, Adapter) => {
    const [sim, store] = await Promise.all([startTestSimulator(), startTestStore()]);
    try {
      const config = loadConfig({
        AUTH_MODE: 'dev', PHI_ENDPOINT: api === 'openai' ? sim.openaiUrl : sim.url, PHI_DEPLOYMENT: 'my-deployment', PHI_API_KEY: 'k', PHI_MODEL: sim.model.id,
      });
      const built = await buildServices(config, { container: store.container });
      expect(built.model).toBeInstanceOf(Adapter);
      expect((await collect(built.model)).end).toMatchObject({ type: 'end', finishReason: 'stop', model: 'my-deployment' });
      expect(sim.completionRequests.map((r) => r.wire)).toEqual([api]);
      await built.close();
    } finally {
      await Promise.all([sim.close(), store.close()]);
    }
  });
});
