import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandIns, STAND_IN_PORTS, type StandIns } from '../../local/standIns.js';
import { buildServices, type Services } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

// What `func start` does with the sample settings once `npm run stand-ins` runs: the app's own composition root,
// from those values alone, against the stand-ins on their fixed ports.
describe('npm run stand-ins with local.settings.sample.json', () => {
  const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as { Values: Record<string, string> };
  let standIns: StandIns | undefined;
  let services: Services | undefined;
  afterAll(async () => {
    await services?.close();
    await standIns?.close();
  });

  it('gives the sample settings a store and a model to talk to', async () => {
    standIns = await startStandIns(STAND_IN_PORTS);
    services = await buildServices(loadConfig(sample.Values));
    await services.store.ping();
    const created = await services.conversations.create('stand-in-user', { title: 'via func start' });
    expect((await services.conversations.get('stand-in-user', created.id)).title).toBe('via func start');

    let content = '';
    for await (const event of await services.model.stream({ messages: [{ role: 'user', content: 'Hello?' }], settings: { maxTokens: 20 } })) {
      if (event.type === 'delta') content += event.content;
    }
    expect(content.length).toBeGreaterThan(0);
    expect(standIns.simulator.requests.at(-1)?.wire).toBe('openai');
  });
});
