import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A corpus of malformed requests across the routes, sent as raw bytes over real sockets by a caller that already has
 * a conversation with messages. Each must answer its 4xx problem, never 5xx, and none may change the store.
 */

const MAX_BODY_BYTES = 4096;
const USER = 'malformed-user';
/** Stands for the caller's real conversation id in a row's path. */
const ID = '{id}';
/** Stand for the assistant and the user message of the caller's finished turn. */
const REPLY = '{reply}';
const ASKED = '{asked}';

interface Row {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  /** A string is sent as it is (UTF-8); bytes let a row send what no string can. */
  readonly body?: string | Uint8Array;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** Send the body chunked, without Content-Length. */
  readonly chunked?: boolean;
  readonly status: number;
  readonly code: string;
}

const json = (value: unknown) => JSON.stringify(value);
const bad = (name: string, method: string, path: string, body: string | Uint8Array | undefined, extra: Partial<Row> = {}): Row => ({
  name, method, path, ...(body !== undefined ? { body } : {}), status: 400, code: 'validation_failed', ...extra,
});
const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const C = '/conversations';
const M = `/conversations/${ID}/messages`;
const P = `/conversations/${ID}`;
const oversized = json({ title: 'x'.repeat(MAX_BODY_BYTES) });
const F = `/conversations/${ID}/messages/${REPLY}/feedback`;

const CORPUS: readonly Row[] = [
  // Bodies that are not a JSON object.
  bad('malformed JSON', 'POST', C, '{"title":'),
  bad('trailing garbage after JSON', 'POST', C, '{"title":"a"} x'),
  bad('JSON array body', 'POST', C, '[]'),
  bad('JSON string body', 'POST', C, '"hello"'),
  bad('JSON number body', 'POST', C, '42'),
  bad('JSON null body', 'POST', C, 'null'),
  bad('invalid UTF-8 bytes', 'POST', C, new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
  bad('PATCH with a JSON array', 'PATCH', P, '[{"title":"x"}]'),
  bad('message POST with a JSON string', 'POST', M, '"hi"'),
  // Wrong types and unknown fields.
  bad('title is a number', 'POST', C, json({ title: 5 })),
  bad('systemPrompt is an object', 'POST', C, json({ systemPrompt: { text: 'x' } })),
  bad('model is a number', 'POST', C, json({ model: 3 })),
  bad('settings is null', 'POST', C, json({ settings: null })),
  bad('seed is a string', 'POST', C, json({ settings: { seed: '1' } })),
  bad('maxTokens is fractional', 'POST', C, json({ settings: { maxTokens: 1.5 } })),
  bad('unknown top-level field', 'POST', C, json({ titel: 'typo' })),
  bad('unknown settings field', 'POST', C, json({ settings: { temprature: 1 } })),
  bad('PATCH cannot change the model', 'PATCH', P, json({ model: 'phi-3-mini-4k-instruct' })),
  bad('PATCH title is an array', 'PATCH', P, json({ title: [] })),
  bad('userId smuggled in the body', 'PATCH', P, json({ userId: 'someone-else' })),
  bad('__proto__ key', 'POST', C, '{"__proto__":{"title":"polluted"}}'),
  bad('constructor key', 'POST', C, '{"constructor":{"prototype":{"x":1}}}'),
  bad('__proto__ inside settings', 'PATCH', P, '{"settings":{"__proto__":{"temperature":5}}}'),
  // Out-of-range values.
  bad('temperature 3', 'POST', C, json({ settings: { temperature: 3 } })),
  bad('topP -1', 'POST', C, json({ settings: { topP: -1 } })),
  bad('stop with 5 strings', 'POST', C, json({ settings: { stop: ['a', 'b', 'c', 'd', 'e'] } })),
  bad('stop with an empty string', 'PATCH', P, json({ settings: { stop: [''] } })),
  bad('presencePenalty -3', 'PATCH', P, json({ settings: { presencePenalty: -3 } })),
  bad('maxTokens 0', 'PATCH', P, json({ settings: { maxTokens: 0 } })),
  bad('maxTokens above the model output limit', 'PATCH', P, json({ settings: { maxTokens: 1_000_000 } })),
  bad('huge title', 'POST', C, json({ title: 'x'.repeat(201) })),
  // Text that is not printable, well-formed Unicode.
  bad('lone surrogate escape in the title', 'POST', C, '{"title":"\\ud800"}'),
  bad('lone low surrogate in a message', 'POST', M, '{"content":"hi \\udc00"}'),
  bad('NUL control character', 'POST', C, '{"title":"a\\u0000b"}'),
  bad('escape character in a stop string', 'PATCH', P, '{"settings":{"stop":["\\u001b[0m"]}}'),
  // Message bodies.
  bad('empty content', 'POST', M, json({ content: '' })),
  bad('whitespace-only content', 'POST', M, json({ content: ' \n\t ' })),
  bad('content missing', 'POST', M, json({})),
  bad('no body at all', 'POST', M, undefined),
  bad('content is a number', 'POST', M, json({ content: 7 })),
  bad('unknown field in extra', 'POST', M, json({ content: 'hi', extra: { temperature: 1 } })),
  bad('logitBias key is not a token id', 'POST', M, json({ content: 'hi', extra: { logitBias: { abc: 1 } } })),
  bad('per-turn temperature 3', 'POST', M, json({ content: 'hi', settings: { temperature: 3 } })),
  bad('Idempotency-Key with a space', 'POST', M, json({ content: 'hi' }), { headers: { 'idempotency-key': 'a b' } }),
  // Branches.
  bad('parentId is a number', 'POST', M, json({ content: 'hi', parentId: 1 })),
  bad('parentId is not a message id', 'POST', M, json({ content: 'hi', parentId: 'c_AAAAAAAAAAAAAAAAAAAAAA' })),
  bad('parentId names no message', 'POST', M, json({ content: 'hi', parentId: 'm_AAAAAAAAAAAAAAAAAAAAAa' })),
  bad('parentId with a path in it', 'POST', M, json({ content: 'hi', parentId: 'm_../../usage' })),
  bad('activeMessageId null', 'PATCH', P, json({ activeMessageId: null })),
  bad('activeMessageId names no message', 'PATCH', P, json({ activeMessageId: 'm_AAAAAAAAAAAAAAAAAAAAAa' })),
  bad('activeMessageId is an array', 'PATCH', P, json({ activeMessageId: ['m_AAAAAAAAAAAAAAAAAAAAAa'] })),
  bad('branch=some', 'GET', `${M}?branch=some`, undefined),
  bad('regenerate with content', 'POST', `${M}/m_AAAAAAAAAAAAAAAAAAAAAa/regenerate`, json({ content: 'hi' })),
  bad('regenerate with a JSON array', 'POST', `${M}/m_AAAAAAAAAAAAAAAAAAAAAa/regenerate`, '[]'),
  { name: 'regenerate of no message', method: 'POST', path: `${M}/m_AAAAAAAAAAAAAAAAAAAAAa/regenerate`, status: 404, code: 'not_found' },
  { name: 'one message, malformed id', method: 'GET', path: `${M}/m_%2E%2E`, status: 404, code: 'not_found' },
  { name: 'one message, another conversation', method: 'GET', path: '/conversations/c_AAAAAAAAAAAAAAAAAAAAAA/messages/m_AAAAAAAAAAAAAAAAAAAAAa', status: 404, code: 'not_found' },
  // Query strings.
  bad('limit=0', 'GET', `${C}?limit=0`, undefined),
  bad('limit=101', 'GET', `${C}?limit=101`, undefined),
  bad('limit=abc', 'GET', `${C}?limit=abc`, undefined),
  bad('limit=-1', 'GET', `${C}?limit=-1`, undefined),
  bad('limit=2.5', 'GET', `${M}?limit=2.5`, undefined),
  bad('repeated limit', 'GET', `${C}?limit=1&limit=2`, undefined),
  bad('unknown query parameter', 'GET', `${C}?userId=someone`, undefined),
  bad('order=sideways', 'GET', `${M}?order=sideways`, undefined),
  bad('garbage cursor', 'GET', `${C}?cursor=${encodeURIComponent('not a cursor!')}`, undefined),
  bad('cursor of base64 garbage', 'GET', `${M}?cursor=${base64url('garbage')}`, undefined),
  bad('well-formed cursor with a forged token', 'GET', `${C}?cursor=${base64url(json({ c: 'forged' }))}`, undefined),
  bad('forged continuation on messages', 'GET', `${M}?cursor=${base64url(json({ c: '{"token":"x","range":{}}' }))}`, undefined),
  bad('usage from is not a date', 'GET', '/usage?from=yesterday', undefined),
  bad('usage from after to', 'GET', '/usage?from=2025-02-02&to=2025-02-01', undefined),
  // Title search.
  bad('empty q', 'GET', `${C}?q=`, undefined),
  bad('blank q', 'GET', `${C}?q=%20%20%20`, undefined),
  bad('q of 201 characters', 'GET', `${C}?q=${'q'.repeat(201)}`, undefined),
  bad('q with a NUL', 'GET', `${C}?q=a%00b`, undefined),
  bad('repeated q', 'GET', `${C}?q=a&q=b`, undefined),
  // Feedback bodies.
  bad('rating not up or down', 'PUT', F, json({ rating: 'meh' })),
  bad('rating missing', 'PUT', F, json({ comment: 'nice' })),
  bad('rating is a boolean', 'PUT', F, json({ rating: true })),
  bad('rating in upper case', 'PUT', F, json({ rating: 'UP' })),
  bad('comment of 2,001 characters', 'PUT', F, json({ rating: 'up', comment: 'c'.repeat(2_001) })),
  bad('comment is a number', 'PUT', F, json({ rating: 'up', comment: 5 })),
  bad('comment is null', 'PUT', F, json({ rating: 'down', comment: null })),
  bad('unknown field in feedback', 'PUT', F, json({ rating: 'up', stars: 5 })),
  bad('feedback JSON is malformed', 'PUT', F, '{"rating":'),
  bad('feedback body is an array', 'PUT', F, '["up"]'),
  bad('feedback with no body', 'PUT', F, undefined),
  bad('feedback on a user message', 'PUT', F.replace(REPLY, ASKED), json({ rating: 'up' })),
  { name: 'feedback as text/plain', method: 'PUT', path: F, body: json({ rating: 'up' }), contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'feedback on a malformed message id', method: 'PUT', path: `/conversations/${ID}/messages/not-an-id/feedback`, body: json({ rating: 'up' }), status: 404, code: 'not_found' },
  { name: 'feedback with an unsupported method', method: 'PATCH', path: F, body: json({ rating: 'up' }), status: 405, code: 'method_not_allowed' },
  // Export.
  { name: 'export of a malformed id', method: 'GET', path: '/conversations/..%2Fusage/export', status: 404, code: 'not_found' },
  { name: 'export of no conversation', method: 'GET', path: '/conversations/c_AAAAAAAAAAAAAAAAAAAAAA/export', headers: { accept: 'text/markdown' }, status: 404, code: 'not_found' },
  bad('export with a query parameter', 'GET', `${P}/export?branch=active`, undefined),
  bad('export with a repeated unknown parameter', 'GET', `${P}/export?format=md&format=json`, undefined, { headers: { accept: 'text/markdown' } }),
  { name: 'export with POST', method: 'POST', path: `${P}/export`, body: json({}), status: 405, code: 'method_not_allowed' },
  { name: 'export with DELETE', method: 'DELETE', path: `${P}/export`, status: 405, code: 'method_not_allowed' },
  // Media types and sizes.
  { name: 'text/plain body', method: 'POST', path: C, body: json({ title: 'x' }), contentType: 'text/plain', status: 415, code: 'unsupported_media_type' },
  { name: 'form body', method: 'PATCH', path: P, body: 'title=x', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
  { name: 'message with no content-type', method: 'POST', path: M, body: json({ content: 'hi' }), contentType: '', status: 415, code: 'unsupported_media_type' },
  { name: 'body over MAX_BODY_BYTES', method: 'POST', path: C, body: oversized, status: 413, code: 'payload_too_large' },
  { name: 'chunked body over MAX_BODY_BYTES', method: 'POST', path: M, body: json({ content: 'y'.repeat(MAX_BODY_BYTES) }), chunked: true, status: 413, code: 'payload_too_large' },
  { name: 'chunked body 64 times MAX_BODY_BYTES', method: 'PATCH', path: P, body: json({ title: 'z'.repeat(64 * MAX_BODY_BYTES) }), chunked: true, status: 413, code: 'payload_too_large' },
  { name: 'Content-Length over MAX_BODY_BYTES on a message', method: 'POST', path: M, body: json({ content: 'y'.repeat(2 * MAX_BODY_BYTES) }), status: 413, code: 'payload_too_large' },
  // Ids, preconditions, routes.
  { name: 'malformed id', method: 'GET', path: '/conversations/not-an-id', status: 404, code: 'not_found' },
  { name: 'id one character short', method: 'PATCH', path: '/conversations/c_AAAAAAAAAAAAAAAAAAAAA', body: json({ title: 'x' }), status: 404, code: 'not_found' },
  { name: 'percent-encoded NUL in id', method: 'DELETE', path: '/conversations/c_AAAAAAAAAAAAAAAAAAAA%00A', status: 404, code: 'not_found' },
  { name: 'messages of a malformed id', method: 'POST', path: '/conversations/..%2F..%2Fusage/messages', body: json({ content: 'hi' }), status: 404, code: 'not_found' },
  { name: 'If-Match garbage', method: 'PATCH', path: P, body: json({ title: 'x' }), headers: { 'if-match': '"a", "b"' }, status: 412, code: 'precondition_failed' },
  { name: 'If-Match weak etag', method: 'PATCH', path: P, body: json({ title: 'x' }), headers: { 'if-match': 'W/"abc"' }, status: 412, code: 'precondition_failed' },
  { name: 'If-Match stale', method: 'PATCH', path: P, body: json({ title: 'x' }), headers: { 'if-match': '"00000000-0000-0000-0000-000000000000"' }, status: 412, code: 'precondition_failed' },
  { name: 'unsupported method', method: 'PUT', path: P, body: json({ title: 'x' }), status: 405, code: 'method_not_allowed' },
  { name: 'unknown route', method: 'GET', path: '/conversationz', status: 404, code: 'not_found' },
  // Stop and resume.
  bad('Last-Event-ID that is not an id', 'GET', `${M}/${REPLY}/stream`, undefined, { headers: { 'last-event-id': 'abc' } }),
  bad('Last-Event-ID past the finished reply', 'GET', `${M}/${REPLY}/stream`, undefined, { headers: { 'last-event-id': '999999-end' } }),
  bad('empty lastEventId', 'GET', `${M}/${REPLY}/stream?lastEventId=`, undefined),
  bad('repeated lastEventId', 'GET', `${M}/${REPLY}/stream?lastEventId=1&lastEventId=2`, undefined),
  bad('unknown query parameter on a stream', 'GET', `${M}/${REPLY}/stream?from=3`, undefined),
  bad('stream of a user message', 'GET', `${M}/${ASKED}/stream`, undefined),
  bad('stop of a user message', 'POST', `${M}/${ASKED}/stop`, undefined),
  { name: 'stop of a malformed message id', method: 'POST', path: `${M}/..%2Fx/stop`, status: 404, code: 'not_found' },
  { name: 'stream of an unknown message', method: 'GET', path: `${M}/m_AAAAAAAAAAAAAAAAAAAAAa/stream`, status: 404, code: 'not_found' },
  { name: 'stop with GET', method: 'GET', path: `${M}/${REPLY}/stop`, status: 405, code: 'method_not_allowed' },
];

let t: TestApp;
let conversationId: string;
let turnIds: { reply: string; asked: string };

beforeAll(async () => {
  t = await startTestApp({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  conversationId = await newConversation(t.api, USER, { title: 'kept', settings: { temperature: 0.5 } });
  const turn = await call(t.api, 'POST', `/conversations/${conversationId}/messages`, {
    user: USER, body: { content: 'Hello' }, headers: { accept: 'application/json', 'idempotency-key': 'k1' },
  });
  expect(turn.status).toBe(201);
  turnIds = { reply: turn.body.assistantMessage.id, asked: turn.body.userMessage.id };
});
afterAll(() => t.close());

async function send(row: Row): Promise<{ status: number; contentType: string; body: Record<string, unknown> | undefined; raw: string }> {
  const headers: Record<string, string> = { 'x-user-id': USER, accept: 'application/json', ...row.headers };
  if (row.body !== undefined && row.contentType !== '') headers['content-type'] = row.contentType ?? 'application/json';
  let body: Uint8Array | ReadableStream<Uint8Array> | undefined;
  if (row.body !== undefined) {
    const bytes = typeof row.body === 'string' ? new TextEncoder().encode(row.body) : row.body;
    body = row.chunked
      ? new ReadableStream({ start: (c) => { c.enqueue(bytes.slice(0, 100)); c.enqueue(bytes.slice(100)); c.close(); } })
      : bytes;
  }
  const res = await fetch(`${t.api}${row.path.replace(ID, conversationId).replace(REPLY, turnIds.reply).replace(ASKED, turnIds.asked)}`, {
    method: row.method, headers, ...(body !== undefined ? { body, duplex: 'half' } : {}),
  } as RequestInit);
  const raw = await res.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: parsed, raw };
}

describe('malformed requests', () => {
  it('has a corpus of at least 30 distinct requests', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CORPUS.map((r) => r.name)).size).toBe(CORPUS.length);
  });

  it('each answers its 4xx problem+json with a code, and together they leave the store unchanged', async () => {
    const before = await snapshot(t.container);
    const failures: string[] = [];
    for (const row of CORPUS) {
      const res = await send(row);
      const ok =
        res.status === row.status &&
        /^application\/problem\+json/.test(res.contentType) &&
        res.body?.code === row.code &&
        res.body.status === row.status &&
        typeof res.body.detail === 'string';
      if (!ok) failures.push(`${row.name}: expected ${row.status} ${row.code}, got ${res.status} ${res.raw.slice(0, 200)}`);
      expect(res.status, row.name).toBeLessThan(500);
    }
    expect(failures).toEqual([]);
    expect(await snapshot(t.container)).toBe(before);

    // The caller's data is still all there and still served.
    const conversation = await call(t.api, 'GET', `/conversations/${conversationId}`, { user: USER });
    expect(conversation.body).toMatchObject({ title: 'kept', messageCount: 2, settings: { temperature: 0.5 } });
    expect((await call(t.api, 'GET', '/conversations', { user: USER })).body.items).toHaveLength(1);
  });

  it('validation errors list the offending field', async () => {
    const res = await send(bad('x', 'POST', C, json({ settings: { temperature: 3, topP: -1 } })));
    expect(res.body?.errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'settings.temperature' }),
      expect.objectContaining({ field: 'settings.topP' }),
    ]));
  });
});
