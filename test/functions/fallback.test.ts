import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import functions from '@azure/functions';
import { call } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';
import { methodsFor } from '../../src/http/routes.js';
import { loadFunctionsApp } from '../../local/host/index.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('the fallback function (what Azure would otherwise answer with an empty 404)', () => {
  it('knows the methods of every registered route, whatever the id, and nothing else', () => {
    expect(methodsFor('conversations')).toEqual(['POST', 'GET']);
    expect(methodsFor('Conversations/c_anything')).toEqual(['GET', 'PATCH', 'DELETE']);
    expect(methodsFor('conversations/not-an-id/messages')).toEqual(['GET', 'POST']);
    expect(methodsFor('usage/')).toEqual(['GET']);
    expect(methodsFor('conversations/a/b')).toEqual([]);
    expect(methodsFor('nothing')).toEqual([]);
  });

  it('answers an unknown route with a 404 problem', async () => {
    for (const [method, path] of [['GET', '/nothing-here'], ['POST', '/conversations/a/b/c'], ['DELETE', '/']]) {
      const res = await call(t.api, method!, path!);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, code: 'not_found' });
    }
  });

  it('answers a known route with another method 405 with Allow', async () => {
    const res = await call(t.api, 'PUT', '/conversations/c_whatever');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expect(res.body).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('is the one 404/405 under the prefix: the local host answers itself only where no function can', async () => {
    // Each answer's detail says who wrote it: fallback.ts, or the local host's own problem.
    expect((await call(t.api, 'GET', '/nothing-here')).body).toMatchObject({ status: 404, detail: 'No such route.' });
    expect((await call(t.api, 'HEAD', '/conversations/a/b')).status).toBe(404);
    expect((await call(t.api, 'PUT', '/conversations/c_whatever')).body).toMatchObject({ status: 405, detail: 'This route serves GET, PATCH, DELETE.' });
    // Outside the `api` prefix no function is reached, in Azure either (its host answers an empty 404 there).
    const outside = await call(t.host.url, 'GET', '/nothing-here');
    expect(outside.body).toMatchObject({ status: 404, code: 'not_found', detail: 'No route matches GET /nothing-here.' });
  });

  it('is what the Functions host calls with the captured path, registered as a catch-all', async () => {
    const registry = await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' });
    const fallback = registry.httpFunctions.find((f) => f.name === 'fallback');
    expect(fallback?.route).toBe('{*path}');
    const request = new functions.HttpRequest({ method: 'PATCH', url: 'https://app.example/api/usage', params: { path: 'usage' } });
    const response = await fallback!.handler(request, new functions.InvocationContext({ functionName: 'fallback' }));
    expect(response).toMatchObject({ status: 405, headers: expect.objectContaining({ allow: 'GET' }) });
  });
});
