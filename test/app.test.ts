import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../src/app.js';

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
});
