import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** `GET /api/model` as a client reads it, for the default model and for one Azure retired. */
describe.each([
  {
    modelId: undefined,
    expected: {
      modelName: 'Phi-4-mini-instruct', contextWindow: 131_072, maxOutputTokens: 4_096, supportsSystemMessages: true,
      azureServerless: { status: 'available', retiredOn: null }, models: ['phi-4-mini-instruct'],
    },
  },
  {
    modelId: 'phi-3.5-mini-instruct',
    expected: {
      modelName: 'Phi-3.5-Mini-Instruct', contextWindow: 131_072, maxOutputTokens: 4_096, supportsSystemMessages: false,
      azureServerless: { status: 'retired', retiredOn: '2025-08-30' }, models: ['phi-3.5-mini-instruct'],
    },
  },
])('GET /api/model serving $expected.models.0', ({ modelId, expected }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(modelId === undefined ? {} : { simulator: { modelId } });
  });
  afterAll(() => t.close());

  it('reports the served model, its limits and whether Azure serverless still sells it', async () => {
    const res = await call(t.api, 'GET', '/model', { user: 'model-reader' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(expected);
  });
});
