import { afterAll, describe, expect, it } from 'vitest';
import { buildLocalServices } from '../local/localServices.js';
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
  const parts = Promise.all([startTestSimulator(), startTestStore()]);
  afterAll(async () => {
    process.env = saved;
    await (await services()).close();
    await Promise.all((await parts).map((part) => part.close()));
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
    // Deployed code never starts the embedded store or the simulator: each endpoint missing is one line naming it.
    delete process.env.COSMOS_ENDPOINT;
    delete process.env.COSMOS_KEY;
    await expect(services()).rejects.toThrow(/^COSMOS_ENDPOINT="" is not valid: required under a Functions host/);
    const [sim, store] = await parts;
    process.env.COSMOS_ENDPOINT = store.cosmos.endpoint;
    process.env.COSMOS_KEY = store.cosmos.key;
    await expect(services()).rejects.toThrow(/^PHI_ENDPOINT="" is not valid: required under a Functions host/);
    process.env.PHI_ENDPOINT = sim.url;
    process.env.PHI_API_KEY = 'k';
    const built = await services();
    expect(built.config.cosmos.endpoint).toBe(store.cosmos.endpoint);
    expect(await services()).toBe(built);
  }, 30_000);
});

describe('buildLocalServices: npm start with no Azure settings', () => {
  let built: Services | undefined;
  afterAll(async () => {
    await built?.close();
  });

  it('stands in the embedded store, and plays the catalog\'s default model over the OpenAI v1 wire', async () => {
    built = await buildLocalServices(loadConfig({}, { loopbackHost: true }));
    expect(built.config.cosmos.endpoint).toBeUndefined();
    await expect(built.store.ping()).resolves.toBeUndefined();
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
