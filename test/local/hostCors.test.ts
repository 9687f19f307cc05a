import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../../local/host/index.js';
import { send } from '../support/localHostClient.js';

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

let listed: LocalHost;
let anyOrigin: LocalHost;
let off: LocalHost;

const quiet = { info() {}, error() {} };

beforeAll(async () => {
  const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
  [listed, anyOrigin, off] = await Promise.all([
    createLocalHost({ app, logger: quiet, corsAllowedOrigins: [APP, 'http://localhost:5173'] }),
    createLocalHost({ app, logger: quiet, corsAllowedOrigins: ['*'] }),
    createLocalHost({ app, logger: quiet }),
  ]);
});

afterAll(async () => {
  await Promise.all([listed?.close(), anyOrigin?.close(), off?.close()]);
});

const preflight = (host: LocalHost, path: string, origin: string, method = 'POST') =>
  send(`${host.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
  });

const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));

describe('CORS preflight', () => {
  it('answers 204 for an allowed origin with that origin, the route methods, the headers the API reads and a max age', async () => {
    const res = await preflight(listed, '/api/echo', APP);

    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-methods']).toBe('POST, GET');
    const allowed = String(res.headers['access-control-allow-headers']).split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'idempotency-key', 'if-match', 'last-event-id', 'x-user-id']));
    expect(Number(res.headers['access-control-max-age'])).toBeGreaterThan(0);
    expect(res.headers.vary).toBe('Origin');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lists the methods of the route matched by the path, with route parameters', async () => {
    const res = await preflight(listed, '/api/items/7', 'http://localhost:5173', 'PUT');

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(res.headers['access-control-allow-methods']).toBe('GET, PUT');
  });

  it('refuses a preflight from an origin that is not listed with 403 and no CORS headers', async () => {
    const res = await preflight(listed, '/api/echo', OTHER);

    expect(res.status).toBe(403);
    expect(corsHeaders(res.headers)).toEqual([]);
    expect(res.json()).toMatchObject({ status: 403, code: 'origin_not_allowed' });
  });

  it('answers a preflight on an unknown path with the 404 problem', async () => {
    const res = await preflight(listed, '/api/nowhere', APP);

    expect(res.status).toBe(404);
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('answers * to any origin when CORS_ALLOWED_ORIGINS is *, without Vary', async () => {
    const res = await preflight(anyOrigin, '/api/echo', OTHER);

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers.vary).toBeUndefined();
  });

  it('treats OPTIONS as an ordinary method when CORS is off (405, no CORS headers)', async () => {
    const res = await preflight(off, '/api/echo', APP);

    expect(res.status).toBe(405);
    expect(corsHeaders(res.headers)).toEqual([]);
  });

  it('treats an OPTIONS without Access-Control-Request-Method as no preflight', async () => {
    const res = await send(`${listed.url}/api/echo`, { method: 'OPTIONS', headers: { origin: APP } });

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, GET');
  });
});

describe('CORS on actual requests', () => {
  it('adds the allowed origin, the exposed headers and Vary to the function response', async () => {
    const res = await send(`${listed.url}/api/echo`, { method: 'POST', headers: { origin: APP, 'content-type': 'text/plain' }, body: 'hi' });

    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    const exposed = String(res.headers['access-control-expose-headers']).toLowerCase().split(', ');
    expect(exposed).toEqual(expect.arrayContaining(['etag', 'location', 'retry-after']));
    expect(res.headers.vary).toBe('Origin');
  });

  it('adds them to problems the host writes itself, so the app can read its errors', async () => {
    const res = await send(`${listed.url}/api/nowhere`, { headers: { origin: APP } });

    expect(res.status).toBe(404);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
  });

  it('serves a request from an origin that is not listed without any CORS header (the browser withholds it)', async () => {
    const res = await send(`${listed.url}/api/echo`, { headers: { origin: OTHER } });

    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual([]);
    expect(res.headers.vary).toBe('Origin');
  });

  it('adds nothing when CORS is off', async () => {
    const res = await send(`${off.url}/api/echo`, { headers: { origin: APP } });

    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual([]);
    expect(res.headers.vary).toBeUndefined();
  });
});
