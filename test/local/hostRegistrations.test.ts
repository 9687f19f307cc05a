import { describe, expect, it } from 'vitest';
import { describeHttpFunctions, loadFunctionsApp } from '../../local/host/index.js';

describe('registrations captured through the @azure/functions-core stand-in', () => {
  it('lists every function of the fixture app as the Functions host would see it', async () => {
    const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });

    expect(describeHttpFunctions(app)).toEqual([
      { name: 'breaksMidStream', route: 'breaks', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'cookies', route: 'cookies', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'Defaults', route: 'Defaults', methods: ['GET', 'POST'], authLevel: 'anonymous' },
      { name: 'drip', route: 'drip', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'echo', route: 'echo', methods: ['POST', 'GET'], authLevel: 'anonymous' },
      { name: 'files', route: 'files/{*path}', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'flood', route: 'flood', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'getItem', route: 'items/{id}', methods: ['GET', 'PUT'], authLevel: 'anonymous' },
      { name: 'newItem', route: 'items/new', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'nothing', route: 'nothing', methods: ['DELETE'], authLevel: 'anonymous' },
      { name: 'stream', route: 'stream', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'things', route: 'things/{*name}', methods: ['GET'], authLevel: 'function' },
      { name: 'throws', route: 'throws', methods: ['GET'], authLevel: 'anonymous' },
    ]);
    expect(app.otherFunctions).toEqual([]);
  });

  it('keeps the metadata the worker would send to the host, with the HTTP output binding', async () => {
    const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
    const stream = app.httpFunctions.find((f) => f.name === 'stream');

    const bindings = Object.values(stream?.metadata.bindings ?? {});
    expect(bindings).toContainEqual(expect.objectContaining({ type: 'httpTrigger', direction: 'in', route: 'stream' }));
    expect(stream?.metadata.bindings.$return).toMatchObject({ type: 'http', direction: 'out' });
    expect(typeof stream?.handler).toBe('function');
  });

  it('loads the same registry again without registering anything twice', async () => {
    const first = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
    const count = first.httpFunctions.length;
    const second = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });

    expect(second).toBe(first);
    expect(second.httpFunctions.length).toBe(count);
  });

  it('says so when the glob matches no file', async () => {
    await expect(loadFunctionsApp({ mainGlob: 'test/support/fixtures/none/*.js' })).rejects.toThrow(/No function files match/);
  });
});
