import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHttpFunctions, loadFunctionsApp, readRoutePrefix } from '../local/host/index.js';
import { call, newConversation, streamUntilCreated as streamTurnUntilCreated, type TurnResponse } from './support/http.js';
import { assertSubset, validate, type JsonSchema } from './support/jsonSchema.js';
import { startTestApp, type TestApp } from './support/testApp.js';

/**
 * docs/openapi.json against the code: the routes it lists are the routes the app registers, and real answers
 * of each kind validate against the schemas it gives for their status (strict: an undocumented field fails).
 */

type Ref = { readonly $ref: string };
interface MediaType { readonly schema?: JsonSchema; readonly 'x-events'?: Readonly<Record<string, JsonSchema>> }
interface Header { readonly required?: boolean; readonly schema: JsonSchema }
interface Response { readonly headers?: Readonly<Record<string, Header | Ref>>; readonly content?: Readonly<Record<string, MediaType>> }
interface Operation {
  readonly operationId: string;
  readonly requestBody?: { readonly content: Readonly<Record<string, MediaType>> };
  readonly responses: Readonly<Record<string, Response | Ref>>;
}
interface OpenApi {
  readonly openapi: string;
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, JsonSchema>> };
}

const doc = JSON.parse(readFileSync(new URL('../docs/openapi.json', import.meta.url), 'utf8')) as OpenApi;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function deref<T>(node: T | Ref): T {
  if (typeof node === 'object' && node !== null && '$ref' in node) {
    return (node.$ref.slice(2).split('/') as string[]).reduce<unknown>((n, key) => (n as Record<string, unknown>)[key], doc) as T;
  }
  return node;
}

function operation(method: string, path: string): Operation {
  const op = doc.paths[path]?.[method.toLowerCase()] as Operation | undefined;
  if (!op) throw new Error(`docs/openapi.json has no ${method} ${path}`);
  return op;
}

const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const conforms = (s: JsonSchema, value: unknown): string[] => validate(s, value, doc);

describe('docs/openapi.json', () => {
  it('documents exactly the routes the app registers, each under its function name', async () => {
    const prefix = readRoutePrefix('host.json');
    // The catch-all `fallback` answers what no route serves (404/405 problems): info.description says so.
    const functionsServed = describeHttpFunctions(await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' })).filter((f) => f.name !== 'fallback');
    const registered = functionsServed.flatMap((f) =>
      // `{id:int}` / `{id?}` in a Functions route are `{id}` in OpenAPI.
      f.methods.map((m) => `${m.toUpperCase()} /${prefix}/${f.route.replace(/\{(\w+)[^}]*\}/g, '{$1}')} ${f.name}`),
    );
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path} ${operation(m, path).operationId}`),
    );
    expect(documented.sort()).toEqual(registered.sort());
  });

  it('is OpenAPI 3.1 whose schemas all resolve and use only keywords the checker enforces', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const seen = new Set<JsonSchema>();
    for (const [name, s] of Object.entries(doc.components.schemas)) assertSubset(s, doc, name, seen);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
        const op = operation(method, path);
        for (const media of Object.values(op.requestBody?.content ?? {})) if (media.schema) assertSubset(media.schema, doc, `${method} ${path} body`, seen);
        for (const [status, r] of Object.entries(op.responses)) {
          const response = deref(r);
          for (const media of Object.values(response.content ?? {})) {
            if (media.schema) assertSubset(media.schema, doc, `${method} ${path} ${status}`, seen);
            for (const event of Object.values(media['x-events'] ?? {})) assertSubset(event, doc, `${method} ${path} event`, seen);
          }
          for (const h of Object.values(response.headers ?? {})) assertSubset(deref(h).schema, doc, `${method} ${path} header`, seen);
        }
      }
    }
  });

  it('the checker refuses an undocumented field, a missing one and a wrong enum value', () => {
    const conversation = { id: 'c_AAAAAAAAAAAAAAAAAAAAAA', title: 't', titleSource: null, model: 'm', systemPrompt: null, settings: {}, createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:00.000Z', messageCount: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, etag: 'e', activeLeafId: null };
    expect(conforms(schema('Conversation'), conversation)).toEqual([]);
    expect(conforms(schema('Conversation'), { ...conversation, userId: 'u' })).toEqual(['$.userId: not a documented property']);
    const { etag: _etag, ...withoutEtag } = conversation;
    expect(conforms(schema('Conversation'), withoutEtag)).toEqual(['$: missing required "etag"']);
    expect(conforms(schema('Problem'), { type: 't', title: 't', status: 400, detail: 'd', code: 'nope' })).toHaveLength(1);
  });
});

describe('real answers validate against docs/openapi.json', () => {
  let t: TestApp;
  const exercised = new Set<string>();

  beforeAll(async () => {
    t = await startTestApp({ env: { USER_DAILY_TOKEN_LIMIT: '1', MAX_BODY_BYTES: '1024', SSE_PING_INTERVAL_MS: '20' } });
  });
  afterAll(() => t?.close());

  /** Checks one answer against the operation's documented response for its status: headers, media type, body or events. */
  function expectDocumented(method: string, template: string, res: TurnResponse, sent?: unknown): void {
    const op = operation(method, `/api${template}`);
    const documented = op.responses[String(res.status)];
    expect(documented, `${method} ${template} answered an undocumented ${res.status}: ${res.raw}`).toBeDefined();
    const response = deref(documented as Response | Ref);
    for (const [name, h] of Object.entries(response.headers ?? {})) {
      const header = deref(h);
      const value = res.headers.get(name);
      if (header.required) expect(value, `${method} ${template} ${res.status}: header ${name}`).not.toBeNull();
      if (value !== null) expect(conforms(header.schema, value), `header ${name}`).toEqual([]);
    }
    if (!response.content) {
      expect(res.raw).toBe('');
    } else {
      const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
      const media = response.content[type];
      expect(media, `${method} ${template} ${res.status}: undocumented content type ${type}`).toBeDefined();
      if (type === 'text/event-stream') {
        expect(res.events.length).toBeGreaterThan(0);
        for (const event of res.events) {
          const eventSchema = media?.['x-events']?.[event.event];
          expect(eventSchema, `undocumented event ${event.event}`).toBeDefined();
          expect(conforms(eventSchema as JsonSchema, event.data), `event ${event.event}`).toEqual([]);
        }
      } else {
        // A JSON body as parsed, any other (text/markdown) as the text it is.
        const value = /[/+]json$/.test(type) ? res.body : res.raw;
        expect(conforms(media?.schema as JsonSchema, value), `${method} ${template} ${res.status}`).toEqual([]);
      }
    }
    // A request the service accepted must also be one the document accepts.
    if (sent !== undefined && res.status < 300) {
      expect(conforms(op.requestBody?.content['application/json']?.schema as JsonSchema, sent), 'request body').toEqual([]);
    }
    exercised.add(`${method} /api${template} ${res.status}`);
  }

  /** Calls `template` with `{conversationId}` (and `{messageId}`) filled in and checks the answer against the document. */
  async function exchange(
    method: string, template: string,
    options: { id?: string; messageId?: string; query?: string; user?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<TurnResponse> {
    const path = template.replace('{conversationId}', options.id ?? '').replace('{messageId}', options.messageId ?? '') + (options.query ?? '');
    const res = await call(t.api, method, path, { user: options.user ?? 'oa-user', body: options.body, headers: options.headers });
    expectDocumented(method, template, res, options.body);
    return res;
  }

  /**
   * A stream read until `message.created` has arrived; `rest` reads it to its end. (Wrapped in an object: an async
   * function returning a bare promise would wait for it.)
   */
  const streamUntilCreated = (path: string, user: string, body: unknown) => streamTurnUntilCreated(t.api, path, user, body);

  it('conversations: create, list, get, patch, delete', async () => {
    const created = await exchange('POST', '/conversations', { body: { title: 'Docs', systemPrompt: 'Be brief.', settings: { temperature: 0.2, seed: 7 } } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.get('location')).toBe(`/api/conversations/${id}`);
    expect((await exchange('POST', '/conversations', { body: {} })).status).toBe(201);
    expect((await exchange('GET', '/conversations', { query: '?limit=1' })).body.nextCursor).toEqual(expect.any(String));
    const got = await exchange('GET', '/conversations/{conversationId}', { id });
    expect(got.headers.get('etag')).toBe(`"${got.body.etag}"`);
    const patched = await exchange('PATCH', '/conversations/{conversationId}', {
      id, body: { title: 'Renamed', systemPrompt: null, settings: { stop: ['END'] } }, headers: { 'if-match': got.headers.get('etag')! },
    });
    expect(patched.status).toBe(200);
    expect((await exchange('DELETE', '/conversations/{conversationId}', { id })).status).toBe(204);
    expect((await exchange('GET', '/conversations/{conversationId}', { id })).status).toBe(404);
  });

  it('messages: a turn in JSON mode, then the list; a second turn over the quota is 429', async () => {
    const user = 'oa-json';
    const id = await newConversation(t.api, user, { systemPrompt: 'You are terse.' });
    const turn = await exchange('POST', '/conversations/{conversationId}/messages', {
      id, user, body: { content: 'Hello', settings: { maxTokens: 64 }, extra: { logprobs: false } }, headers: { accept: 'application/json', 'idempotency-key': 'k-1' },
    });
    expect(turn.status).toBe(201);
    // Same key, another body.
    const reused = await exchange('POST', '/conversations/{conversationId}/messages', {
      id, user, body: { content: 'Hello again' }, headers: { accept: 'application/json', 'idempotency-key': 'k-1' },
    });
    expect(reused.body.code).toBe('idempotency_key_reused');
    const list = await exchange('GET', '/conversations/{conversationId}/messages', { id, user, query: '?order=desc&limit=10' });
    expect(list.body.items.map((m: { role: string }) => m.role)).toEqual(['assistant', 'user']);
    const overQuota = await exchange('POST', '/conversations/{conversationId}/messages', { id, user, body: { content: 'More' }, headers: { accept: 'application/json' } });
    expect([overQuota.status, overQuota.body.code]).toEqual([429, 'quota_exceeded']);
    const usage = await exchange('GET', '/usage', { user });
    expect(usage.body.quota.dailyTokenLimit).toBe(1);
    expect(usage.body.days).toHaveLength(1);
  });

  it('messages: a streamed turn, a streamed failure (error event) and the failure in JSON mode (502)', async () => {
    const id = await newConversation(t.api, 'oa-stream');
    const streamed = await exchange('POST', '/conversations/{conversationId}/messages', { id, user: 'oa-stream', body: { content: 'Stream it' } });
    expect(streamed.events.map((e) => e.event).filter((e) => e !== 'message.delta')).toEqual(['message.created', 'message.completed']);

    const failing = await newConversation(t.api, 'oa-fail');
    t.sim.faults.next({ kind: 'status', status: 500 }, 2);
    const broken = await exchange('POST', '/conversations/{conversationId}/messages', { id: failing, user: 'oa-fail', body: { content: 'Fail' } });
    expect(broken.events.at(-1)?.event).toBe('error');
    const json = await exchange('POST', '/conversations/{conversationId}/messages', { id: failing, user: 'oa-fail', body: { content: 'Fail' }, headers: { accept: 'application/json' } });
    expect([json.status, json.body.code]).toEqual([502, 'upstream_error']);
    // Failed assistant messages carry `error`.
    const list = await exchange('GET', '/conversations/{conversationId}/messages', { id: failing, user: 'oa-fail' });
    expect(list.body.items.filter((m: { error?: unknown }) => m.error)).toHaveLength(2);
  });

  it('messages: a second turn while one streams is 409', async () => {
    const user = 'oa-busy';
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 1000 });
    const first = await streamUntilCreated(`/conversations/${id}/messages`, user, { content: 'Slow' });
    const second = await exchange('POST', '/conversations/{conversationId}/messages', { id, user, body: { content: 'Impatient' } });
    expect(second.body.code).toBe('conversation_busy');
    const res = await first.rest;
    expectDocumented('POST', '/conversations/{conversationId}/messages', res);
    expect(res.events.at(-1)?.event).toBe('message.completed');
  });

  it('branches: an edit, a regeneration (JSON and stream), one message, every branch, a branch switch', async () => {
    const user = 'oa-branches';
    const id = await newConversation(t.api, user);
    const path = '/conversations/{conversationId}/messages';
    // USER_DAILY_TOKEN_LIMIT is 1 here: each turn runs on a day of its own.
    const nextDay = () => t.clock.advance(86_400_000);
    const first = await exchange('POST', path, { id, user, body: { content: 'One' }, headers: { accept: 'application/json' } });
    nextDay();
    const edit = await exchange('POST', path, { id, user, body: { content: 'One, edited', parentId: null }, headers: { accept: 'application/json' } });
    expect(edit.body.userMessage.parentId).toBeNull();
    const regen = `${path}/{messageId}/regenerate`;
    nextDay();
    const json = await exchange('POST', regen, { id, user, messageId: edit.body.assistantMessage.id as string, headers: { accept: 'application/json' } });
    expect(json.status).toBe(201);
    nextDay();
    const streamed = await exchange('POST', regen, { id, user, messageId: edit.body.userMessage.id as string, body: { settings: { maxTokens: 32 } } });
    expect(streamed.events.at(-1)?.event).toBe('message.completed');
    const one = await exchange('GET', `${path}/{messageId}`, { id, user, messageId: json.body.assistantMessage.id as string });
    expect(one.body.siblingIds).toHaveLength(3);
    expect((await exchange('GET', `${path}/{messageId}`, { id, user, messageId: 'm_AAAAAAAAAAAAAAAAAAAAAa' })).status).toBe(404);
    expect((await exchange('POST', regen, { id, user, messageId: 'm_AAAAAAAAAAAAAAAAAAAAAa' })).status).toBe(404);
    expect((await exchange('GET', path, { id, user, query: '?branch=all' })).body.items).toHaveLength(6);
    const switched = await exchange('PATCH', '/conversations/{conversationId}', { id, user, body: { activeMessageId: first.body.userMessage.id } });
    expect(switched.body.activeLeafId).toBe(first.body.assistantMessage.id);
    expect((await exchange('PATCH', '/conversations/{conversationId}', { id, user, body: { activeMessageId: 'm_AAAAAAAAAAAAAAAAAAAAAa' } })).status).toBe(400);
  });

  it('messages: stop (202 while streaming, 200 once finished) and resume (200 from an id, 400 for one never sent)', async () => {
    const user = 'oa-stop';
    const id = await newConversation(t.api, user);
    t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 3000 });
    const first = await streamUntilCreated(`/conversations/${id}/messages`, user, { content: 'Slow' });
    const list = await call(t.api, 'GET', `/conversations/${id}/messages`, { user });
    const messageId = list.body.items[1].id as string;
    const stopPath = '/conversations/{conversationId}/messages/{messageId}/stop';
    const stopped = await exchange('POST', stopPath, { id, messageId, user });
    expect(stopped.status).toBe(202);
    expect(stopped.body.finishReason).toBe('cancelled');
    expectDocumented('POST', '/conversations/{conversationId}/messages', await first.rest);
    expect((await exchange('POST', stopPath, { id, messageId, user })).status).toBe(200);
    const done = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Again' }, headers: { accept: 'application/json' } });
    const replyId = done.body.assistantMessage.id as string;
    const streamPath = '/conversations/{conversationId}/messages/{messageId}/stream';
    const resumed = await exchange('GET', streamPath, { id, messageId: replyId, user, headers: { 'last-event-id': '3' } });
    expect(resumed.events.at(-1)?.event).toBe('message.completed');
    expect((await exchange('GET', streamPath, { id, messageId: replyId, user, query: '?lastEventId=x' })).status).toBe(400);
  });

  it('search and feedback: q on the list, PUT and DELETE of a reply\'s rating, a user message refused', async () => {
    const user = 'oa-feedback';
    const id = await newConversation(t.api, user, { title: 'Crème brûlée' });
    const found = await exchange('GET', '/conversations', { user, query: '?q=creme&limit=5' });
    expect(found.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await exchange('GET', '/conversations', { user, query: '?q=' })).status).toBe(400);
    const turn = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hi' }, headers: { accept: 'application/json' } });
    expect(turn.status, turn.raw).toBe(201);
    const template = '/conversations/{conversationId}/messages/{messageId}/feedback';
    const rate = (messageId: string, body: unknown) => exchange('PUT', template, { id, messageId, user, body });
    const rated = await rate(turn.body.assistantMessage.id, { rating: 'up', comment: 'Clear.' });
    expect(rated.body.feedback).toMatchObject({ rating: 'up', comment: 'Clear.' });
    expect((await rate(turn.body.userMessage.id, { rating: 'up' })).status).toBe(400);
    const removed = await exchange('DELETE', template, { id, messageId: turn.body.assistantMessage.id, user });
    expect(removed.status).toBe(204);
  });

  it('export: JSON of every branch, Markdown of the active one, a query parameter refused, an unknown id 404', async () => {
    const user = 'oa-export';
    const id = await newConversation(t.api, user, { title: 'Exported' });
    const template = '/conversations/{conversationId}/export';
    expect((await exchange('GET', template, { id, user })).body.messages).toEqual([]);
    const turn = await call(t.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Hi' }, headers: { accept: 'application/json' } });
    expect(turn.status, turn.raw).toBe(201);
    const rated = await call(t.api, 'PUT', `/conversations/${id}/messages/${turn.body.assistantMessage.id}/feedback`, { user, body: { rating: 'up' } });
    expect(rated.status, rated.raw).toBe(200);
    const exported = await exchange('GET', template, { id, user, headers: { accept: 'application/json' } });
    expect(exported.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    const md = await exchange('GET', template, { id, user, headers: { accept: 'text/markdown' } });
    expect(md.raw).toMatch(/^# Exported\n\n## User\n\nHi\n\n## Assistant\n/);
    expect((await exchange('GET', template, { id, user, query: '?branch=all' })).status).toBe(400);
    expect((await exchange('GET', template, { id: 'c_AAAAAAAAAAAAAAAAAAAAAA', user })).status).toBe(404);
  });

  it('usage, model and health', async () => {
    expect((await exchange('GET', '/usage', { query: '?from=2025-01-01&to=2025-01-31' })).body.days).toEqual([]);
    expect((await exchange('GET', '/usage', { query: '?from=2025-02-01&to=2025-01-01' })).body.code).toBe('validation_failed');
    expect((await exchange('GET', '/model')).body.models).toContain(t.sim.model.id);
    expect((await exchange('GET', '/health', { user: '' })).body).toEqual({ status: 'ok' });
  });

  it('problems: 400, 404, 412, 413, 415', async () => {
    const id = await newConversation(t.api, 'oa-user');
    const malformed = await exchange('POST', '/conversations', { body: '{"title":' });
    expect(malformed.body.errors).toEqual([{ field: '(body)', message: 'malformed JSON' }]);
    expect((await exchange('PATCH', '/conversations/{conversationId}', { id, body: { settings: { topP: 2 }, colour: 'red' } })).status).toBe(400);
    expect((await exchange('GET', '/conversations', { query: '?limit=0' })).status).toBe(400);
    expect((await exchange('GET', '/conversations', { user: 'x'.repeat(129) })).body.code).toBe('validation_failed');
    expect((await exchange('GET', '/conversations/{conversationId}/messages', { id: 'c_AAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(404);
    expect((await exchange('PATCH', '/conversations/{conversationId}', { id, body: {}, headers: { 'if-match': '"stale"' } })).status).toBe(412);
    const tooLarge = await exchange('POST', '/conversations', { body: { title: 'x'.repeat(2000) } });
    expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'payload_too_large']);
    const notJson = await exchange('POST', '/conversations', { body: 'title=x', headers: { 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(415);
  });

  it('the host: an unknown route is a 404 problem, a known route with another method a 405 problem with Allow', async () => {
    const unknown = await call(t.api, 'GET', '/nothing-here');
    expect([unknown.status, conforms(schema('Problem'), unknown.body)]).toEqual([404, []]);
    const wrongMethod = await call(t.api, 'PUT', '/conversations/anything');
    expect([wrongMethod.status, conforms(schema('Problem'), wrongMethod.body)]).toEqual([405, []]);
    expect(wrongMethod.headers.get('allow')).toBe('GET, PATCH, DELETE');
  });

  it('exercised every documented operation with a success', () => {
    const successes = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path}`));
    for (const op of successes) expect([...exercised].some((e) => e.startsWith(`${op} 2`)), op).toBe(true);
  });
});
