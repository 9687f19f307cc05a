import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_HEADER_SIZE } from '../../local/host/index.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

const USER = 'limits-user';
const MIB = 1_048_576;
const MAX_CONTENT_CHARS = 1_000;

let t: TestApp;
let conversation: string;

beforeAll(async () => {
  // MAX_BODY_BYTES stays at its default (1 MiB); a small content limit keeps the bodies small.
  t = await startTestApp({ env: { MAX_CONTENT_CHARS: String(MAX_CONTENT_CHARS) } });
  conversation = await newConversation(t.api, USER);
});
afterAll(() => t?.close());

/** A JSON body of exactly `bytes` bytes: `{"title":"xxx…"}`. */
const bodyOf = (bytes: number) => `{"title":"${'x'.repeat(bytes - 12)}"}`;

/** Sends `body` in pieces with Transfer-Encoding: chunked (no Content-Length) and resolves with status and body. */
function sendChunked(url: string, body: string, pieces: number, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
    const size = Math.ceil(body.length / pieces);
    for (let i = 0; i < body.length; i += size) req.write(body.slice(i, i + size));
    req.end();
  });
}

describe('request body size (MAX_BODY_BYTES, default 1 MiB)', () => {
  it('answers 413 payload_too_large to a body one byte over, with a Content-Length', async () => {
    const res = await call(t.api, 'POST', '/conversations', { user: USER, body: bodyOf(MIB + 1) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large', limit: MIB });
  });

  it('answers 413 to a chunked body over the limit that declares no length', async () => {
    const res = await sendChunked(`${t.api}/conversations`, bodyOf(MIB + 1), 17, { 'x-user-id': USER, 'content-type': 'application/json' });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'payload_too_large' });
  });

  it('reads a body of exactly the limit (then judges its content: a 1 MiB title is a validation error)', async () => {
    const res = await sendChunked(`${t.api}/conversations`, bodyOf(MIB), 3, { 'x-user-id': USER, 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'validation_failed' });
  });

  it('applies the limit to message posts too', async () => {
    const res = await call(t.api, 'POST', `/conversations/${conversation}/messages`, {
      user: USER, body: `{"content":"${'y'.repeat(MIB)}"}`, headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(t.sim.completionRequests).toHaveLength(0);
  });
});

describe('message content and settings', () => {
  it('refuses content over MAX_CONTENT_CHARS with 400 naming the field, and takes content at the limit', async () => {
    const over = await call(t.api, 'POST', `/conversations/${conversation}/messages`, {
      user: USER, body: { content: 'z'.repeat(MAX_CONTENT_CHARS + 1) }, headers: { accept: 'application/json' },
    });
    expect(over.status).toBe(400);
    expect(over.body.code).toBe('validation_failed');
    expect(over.body.errors.map((e: { field: string }) => e.field)).toContain('content');

    const at = await call(t.api, 'POST', `/conversations/${conversation}/messages`, {
      user: USER, body: { content: 'z '.repeat(MAX_CONTENT_CHARS / 2) }, headers: { accept: 'application/json' },
    });
    expect(at.status, at.raw).toBe(201);
  });

  it('refuses more than 4 stop strings on a conversation and on a message, and takes 4', async () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const conv = await call(t.api, 'POST', '/conversations', { user: USER, body: { settings: { stop: five } } });
    expect(conv.status).toBe(400);
    expect(conv.body.errors.map((e: { field: string }) => e.field)).toContain('settings.stop');
    const message = await call(t.api, 'POST', `/conversations/${conversation}/messages`, {
      user: USER, body: { content: 'hi', settings: { stop: five } }, headers: { accept: 'application/json' },
    });
    expect(message.status).toBe(400);
    expect(message.body.errors.map((e: { field: string }) => e.field)).toContain('settings.stop');
    expect((await call(t.api, 'POST', '/conversations', { user: USER, body: { settings: { stop: five.slice(0, 4) } } })).status).toBe(201);
  });
});

describe('header size (local host maxHeaderSize)', () => {
  it('serves a request whose headers exceed Node\'s 16 KiB default but fit the host\'s 32 KiB (a large token)', async () => {
    expect(DEFAULT_MAX_HEADER_SIZE).toBe(32 * 1024);
    const res = await call(t.api, 'GET', '/conversations', { user: USER, headers: { 'x-padding': 'p'.repeat(20 * 1024) } });
    expect(res.status).toBe(200);
  });

  it('answers 431 to headers over the limit, then closes: no hang, no 5xx', async () => {
    const res = await call(t.api, 'GET', '/conversations', { user: USER, headers: { 'x-padding': 'p'.repeat(DEFAULT_MAX_HEADER_SIZE + 1) } });
    expect(res.status).toBe(431);
    // The service still answers afterwards.
    expect((await call(t.api, 'GET', '/health')).status).toBe(200);
  });
});

describe('unexpected failures', () => {
  it('answers 500 internal with a generic problem: no stack frames, no error message', async () => {
    const failure = new Error('store exploded near /srv/secret/path');
    const spy = vi.spyOn(t.services.conversations, 'get').mockRejectedValueOnce(failure);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const res = await call(t.api, 'GET', `/conversations/${conversation}`, { user: USER });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 500, code: 'internal' });
      expect(res.raw).not.toMatch(/\bat .+:\d+/);
      expect(res.raw).not.toContain('exploded');
      expect(res.raw).not.toContain('stack');
      // The cause goes to the log instead, for the operator.
      expect(errors.mock.calls.flat().some((arg) => arg === failure)).toBe(true);
    } finally {
      spy.mockRestore();
      errors.mockRestore();
    }
  });
});
