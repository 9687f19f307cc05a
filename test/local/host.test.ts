import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../../local/host/index.js';
import { hostAppState } from '../support/fixtures/hostAppState.js';
import { open, send } from '../support/localHostClient.js';

let host: LocalHost;
const infoLines: string[] = [];
const errorLines: string[] = [];

beforeAll(async () => {
  const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
  host = await createLocalHost({
    app,
    logger: { info: (line) => infoLines.push(line), error: (line, cause) => errorLines.push(`${line} ${String(cause)}`) },
  });
});

afterAll(async () => {
  await host?.close();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('local host over a real socket', () => {
  it('streams a body chunk by chunk, with time between the chunks, before the body ends', async () => {
    const res = await send(`${host.url}/api/stream`);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text()).toBe('chunk 1\nchunk 2\nchunk 3\n');
    expect(res.chunks.length).toBeGreaterThanOrEqual(3);
    const first = res.chunks[0]?.at ?? 0;
    const last = res.chunks.at(-1)?.at ?? 0;
    // The generator sleeps 50 ms twice: a buffering host would deliver everything at once.
    expect(last - first).toBeGreaterThanOrEqual(90);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await send(`${host.url}/api/nowhere`);

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.json()).toMatchObject({ status: 404, code: 'not_found', title: 'Not Found' });
    expect(res.json()).toHaveProperty('type');
    expect(res.json()).toHaveProperty('detail');
  });

  it('answers a path outside the route prefix with 404', async () => {
    expect((await send(`${host.url}/echo`)).status).toBe(404);
    expect((await send(`${host.url}/apiecho`)).status).toBe(404);
  });

  it('answers a known route with another method with 405 and Allow', async () => {
    const res = await send(`${host.url}/api/items/7`, { method: 'DELETE' });

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, PUT');
    expect(res.json()).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('turns a thrown error into a 500 problem without its details, and keeps serving', async () => {
    const res = await send(`${host.url}/api/throws`);

    expect(res.status).toBe(500);
    expect(res.json()).toMatchObject({ status: 500, code: 'internal' });
    expect(res.text()).not.toContain('secret stack detail');
    expect(res.text()).not.toContain('at ');
    expect(errorLines.some((l) => l.includes('secret stack detail'))).toBe(true);
    expect((await send(`${host.url}/api/stream`)).status).toBe(200);
  });

  it('resets the connection when the body fails after the headers went out', async () => {
    await expect(send(`${host.url}/api/breaks`)).rejects.toThrow();
    expect((await send(`${host.url}/api/echo`)).status).toBe(200);
  });

  it('passes decoded route parameters, a literal segment winning over a parameter', async () => {
    const byId = (await send(`${host.url}/api/items/42`)).json() as { params: unknown; url: string };
    expect(byId.params).toEqual({ id: '42' });

    const literal = (await send(`${host.url}/api/items/new`)).json() as { params: unknown };
    expect(literal.params).toEqual({});
  });

  it('fills catch-all parameters, empty or not', async () => {
    expect(((await send(`${host.url}/api/things`)).json() as { params: unknown }).params).toEqual({});
    expect(((await send(`${host.url}/api/things/a%20b`)).json() as { params: unknown }).params).toEqual({ name: 'a b' });
    expect(((await send(`${host.url}/api/files/a/b%2Fc/d.txt`)).json() as { params: unknown }).params).toEqual({
      path: 'a/b/c/d.txt',
    });
  });

  it('gives the handler the full URL and the query string, repeated keys included', async () => {
    const res = (await send(`${host.url}/api/echo?a=1&b=two%20words&a=3`)).json() as { url: string; query: unknown };

    expect(res.url).toBe(`${host.url}/api/echo?a=1&b=two%20words&a=3`);
    expect(res.query).toEqual([
      ['a', ['1', '3']],
      ['b', ['two words']],
    ]);
  });

  it('gives the handler the request body bytes and headers', async () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255, 10, 13]);
    const res = (await send(`${host.url}/api/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    })).json() as { method: string; body: number[]; contentType: string };

    expect(res.method).toBe('POST');
    expect(res.contentType).toBe('application/octet-stream');
    expect(res.body).toEqual([...bytes]);
  });

  it('writes status, headers and cookies, and drops hop-by-hop headers', async () => {
    const res = await send(`${host.url}/api/cookies`);

    expect(res.status).toBe(201);
    expect(res.headers['x-custom']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['session=a%20b; Path=/; HttpOnly; SameSite=Lax']);
    expect(res.text()).toBe('made');
  });

  it('answers 204 with no body, even when the handler gave one', async () => {
    const res = await send(`${host.url}/api/nothing`, { method: 'DELETE' });

    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
  });

  it('lets a turn run to its end when the client disconnects mid-stream', async () => {
    const res = await open(`${host.url}/api/drip`);
    await new Promise((resolve) => res.once('data', resolve));
    res.destroy();

    await until(() => hostAppState.drip.finished, 'the drip generator to finish');
    expect(hostAppState.drip.produced).toBe(10);
    await until(() => infoLines.some((l) => l.startsWith('GET /api/drip 200')), 'the request line');
    expect(infoLines.find((l) => l.startsWith('GET /api/drip'))).toContain('client went away');
  });

  it('honours backpressure: a client that stops reading stops the producer', async () => {
    const res = await open(`${host.url}/api/flood`);
    res.pause();
    let last = -1;
    await until(() => {
      const now = hostAppState.flood.produced;
      const stalled = now === last && now > 0;
      last = now;
      return stalled;
    }, 'the flood producer to stall');
    await sleep(100);
    expect(hostAppState.flood.produced).toBeLessThan(400);

    let received = 0;
    res.on('data', (chunk: Buffer) => (received += chunk.length));
    res.resume();
    await new Promise((resolve) => res.once('end', resolve));
    expect(received).toBe(400 * 64 * 1024);
    expect(hostAppState.flood.finished).toBe(true);
  });

  it('logs one line per request with method, path, status and time, never headers', async () => {
    await send(`${host.url}/api/echo?token=q`, { headers: { authorization: 'Bearer very-secret-token' } });

    const line = infoLines.find((l) => l.startsWith('GET /api/echo '));
    expect(line).toMatch(/^GET \/api\/echo 200 \d+ms$/);
    expect(infoLines.join('\n')).not.toContain('very-secret-token');
  });
});

describe('the request body limit', () => {
  it('answers a body over the host limit 413 before any function runs, and keeps serving', async () => {
    const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.ts' });
    const small = await createLocalHost({ app, maxRequestBodyBytes: 1024, logger: { info() {}, error() {} } });
    try {
      const over = await fetch(`${small.url}/api/echo`, { method: 'POST', body: 'x'.repeat(4096) });
      expect(over.status).toBe(413);
      expect(await over.json()).toMatchObject({ status: 413, code: 'payload_too_large' });
      const within = await fetch(`${small.url}/api/echo`, { method: 'POST', body: 'x'.repeat(1024) });
      expect(within.status).toBe(200);
      // Chunked, no length declared: the function's read fails past the limit and the host answers 413 instead.
      const chunked = (size: number) => new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < size; i += 256) controller.enqueue(new Uint8Array(Math.min(256, size - i)).fill(0x78));
          controller.close();
        },
      });
      const overChunked = await fetch(`${small.url}/api/echo`, { method: 'POST', body: chunked(4096), duplex: 'half' } as RequestInit);
      expect(overChunked.status).toBe(413);
      expect(await overChunked.json()).toMatchObject({ status: 413, code: 'payload_too_large' });
      const withinChunked = await fetch(`${small.url}/api/echo`, { method: 'POST', body: chunked(1024), duplex: 'half' } as RequestInit);
      expect(withinChunked.status).toBe(200);
      expect(((await withinChunked.json()) as { body: number[] }).body).toHaveLength(1024);
    } finally {
      await small.close();
    }
  });
});
