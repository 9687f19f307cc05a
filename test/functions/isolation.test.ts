import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHttpFunctions, loadFunctionsApp, type HttpFunctionSummary } from '../../local/host/index.js';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * Every HTTP route of the app, called by user B against user A's resources (contract: api.md, Identity).
 * A new route fails the first test until it gets a row here.
 */

const A = 'isolation-user-a';
const B = 'isolation-user-b';
const A_KEY = 'a-idempotency-key-1';

// Read at collection time, so each registered function gets its own test below.
const registered: HttpFunctionSummary[] = describeHttpFunctions(await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' }));
let t: TestApp;
/** A's documents and usage once A's setup is done, to compare with at the end. */
let aBefore: { docs: string; usage: unknown };
/** What B's own turns have used so far (the postMessage row runs one). */
const bSpent = { tokens: 0, requests: 0 };
/** A's two conversations (the first has a finished turn) and A's list cursor after the first item. */
let a: { conversation: string; other: string; etag: string; cursor: string; turnAssistantId: string };

/** A's documents (conversations, messages, idempotency records, usage days), system fields dropped. */
async function docsOf(userId: string): Promise<string> {
  const { resources } = await t.container.items
    .query({ query: 'SELECT * FROM c WHERE c.userId = @u', parameters: [{ name: '@u', value: userId }] })
    .fetchAll();
  const clean = resources.map((d: Record<string, unknown>) => Object.fromEntries(Object.entries(d).filter(([k]) => !k.startsWith('_'))));
  return JSON.stringify(clean.sort((x, y) => String(x.id).localeCompare(String(y.id))));
}

function expectNotFound(res: TurnResponse): void {
  expect(res.status, res.raw).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('not_found');
  expect(res.raw).not.toContain(A);
}

/** Nothing of A's appears in a response B gets. */
function expectNoneOfA(res: TurnResponse): void {
  for (const secret of [A, a.conversation, a.other, a.turnAssistantId, 'the secret of user A']) expect(res.raw).not.toContain(secret);
}

interface Row {
  readonly method: string;
  /** For a function registered with several methods (the catch-all): all of them. */
  readonly methods?: readonly string[];
  readonly route: string;
  /** B's calls against A's data, with what B must get. */
  readonly asB: (path: (id: string) => string) => Promise<void>;
}

const convPath = (id: string) => `/conversations/${id}`;
const messagesPath = (id: string) => `/conversations/${id}/messages`;

/** One row per registered HTTP function name. */
const TABLE: Record<string, Row> = {
  fallback: {
    method: 'GET', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], route: '{*path}',
    asB: async () => {
      // Paths no route serves, and a known route with another method, around A's ids: the same answers as for any id.
      for (const [method, path] of [['GET', `/conversations/${a.conversation}/secret`], ['POST', `/usage/${a.conversation}`]] as const) {
        const res = await call(t.api, method, path, { user: B });
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('not_found');
        expectNoneOfA(res);
      }
      const wrongMethod = await call(t.api, 'PUT', `/conversations/${a.conversation}`, { user: B });
      expect(wrongMethod.status).toBe(405);
      expectNoneOfA(wrongMethod);
    },
  },
  health: {
    method: 'GET', route: 'health',
    asB: async () => {
      const res = await call(t.api, 'GET', '/health');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    },
  },
  getModel: {
    method: 'GET', route: 'model',
    asB: async () => {
      const res = await call(t.api, 'GET', '/model', { user: B });
      expect(res.status).toBe(200);
      expectNoneOfA(res);
    },
  },
  createConversation: {
    method: 'POST', route: 'conversations',
    asB: async () => {
      const res = await call(t.api, 'POST', '/conversations', { user: B, body: { title: 'B here' } });
      expect(res.status).toBe(201);
      expect([a.conversation, a.other]).not.toContain(res.body.id);
      expectNoneOfA(res);
    },
  },
  listConversations: {
    method: 'GET', route: 'conversations',
    asB: async () => {
      const own = await call(t.api, 'GET', '/conversations?limit=100', { user: B });
      expect(own.status).toBe(200);
      expect(own.body.items.length).toBeGreaterThan(0); // B's own conversation is listed...
      expectNoneOfA(own); // ...and none of A's
      // A's cursor does not open A's list to B: refused, or a page of B's own.
      const withCursor = await call(t.api, 'GET', `/conversations?limit=1&cursor=${a.cursor}`, { user: B });
      expect([200, 400]).toContain(withCursor.status);
      expectNoneOfA(withCursor);
      // A search for A's title finds none of A's conversations.
      const search = await call(t.api, 'GET', `/conversations?q=${encodeURIComponent('secret of user A')}`, { user: B });
      expect(search.status).toBe(200);
      expect(search.body.items).toEqual([]);
      expectNoneOfA(search);
    },
  },
  getConversation: {
    method: 'GET', route: 'conversations/{conversationId}',
    asB: async (path) => {
      expectNotFound(await call(t.api, 'GET', path(a.conversation), { user: B }));
      expectNotFound(await call(t.api, 'GET', path(a.other), { user: B }));
    },
  },
  updateConversation: {
    method: 'PATCH', route: 'conversations/{conversationId}',
    asB: async (path) => {
      expectNotFound(await call(t.api, 'PATCH', path(a.conversation), { user: B, body: { title: 'taken over' } }));
      // With A's current etag, and with a stale one: still 404, never a 412 that would reveal the id exists.
      expectNotFound(await call(t.api, 'PATCH', path(a.conversation), { user: B, body: { title: 'x' }, headers: { 'if-match': `"${a.etag}"` } }));
      expectNotFound(await call(t.api, 'PATCH', path(a.conversation), { user: B, body: { title: 'x' }, headers: { 'if-match': '"stale"' } }));
      expectNotFound(await call(t.api, 'PATCH', path(a.conversation), { user: B, body: { activeMessageId: a.turnAssistantId } }));
      // A's message as the branch of B's own conversation: refused as a message B does not have.
      const mine = await newConversation(t.api, B);
      const own = await call(t.api, 'PATCH', path(mine), { user: B, body: { activeMessageId: a.turnAssistantId } });
      expect([own.status, own.body.code]).toEqual([400, 'validation_failed']);
      expectNoneOfA(own);
    },
  },
  deleteConversation: {
    method: 'DELETE', route: 'conversations/{conversationId}',
    asB: async (path) => {
      expectNotFound(await call(t.api, 'DELETE', path(a.conversation), { user: B }));
      expectNotFound(await call(t.api, 'DELETE', path(a.other), { user: B }));
    },
  },
  exportConversation: {
    method: 'GET', route: 'conversations/{conversationId}/export',
    asB: async (path) => {
      // Both formats, for A's conversation with a turn and rated reply, and for A's other one.
      for (const accept of ['application/json', 'text/markdown']) {
        expectNotFound(await call(t.api, 'GET', path(a.conversation), { user: B, headers: { accept } }));
        expectNotFound(await call(t.api, 'GET', path(a.other), { user: B, headers: { accept } }));
      }
    },
  },
  listMessages: {
    method: 'GET', route: 'conversations/{conversationId}/messages',
    asB: async (path) => {
      expectNotFound(await call(t.api, 'GET', path(a.conversation), { user: B }));
      expectNotFound(await call(t.api, 'GET', `${path(a.conversation)}?order=desc&limit=1`, { user: B }));
    },
  },
  postMessage: {
    method: 'POST', route: 'conversations/{conversationId}/messages',
    asB: async (path) => {
      const before = t.sim.completionRequests.length;
      // Stream mode answers a plain 404 before any stream; JSON mode the same; A's idempotency key replays nothing.
      expectNotFound(await call(t.api, 'POST', path(a.conversation), { user: B, body: { content: 'hi' } }));
      expectNotFound(await call(t.api, 'POST', path(a.conversation), {
        user: B, body: { content: 'the secret of user A?' }, headers: { accept: 'application/json', 'idempotency-key': A_KEY },
      }));
      // The same key in B's own conversation is B's own new turn, not a replay of A's.
      const mine = await newConversation(t.api, B);
      const own = await call(t.api, 'POST', path(mine), {
        user: B, body: { content: 'the secret of user A?' }, headers: { accept: 'application/json', 'idempotency-key': A_KEY },
      });
      expect(own.status).toBe(201);
      expect(own.body.assistantMessage.id).not.toBe(a.turnAssistantId);
      // A's reply as the parent of B's edit: 400, before anything is stored or sent.
      const edit = await call(t.api, 'POST', path(mine), { user: B, body: { content: 'x', parentId: a.turnAssistantId }, headers: { accept: 'application/json' } });
      expect([edit.status, edit.body.code]).toEqual([400, 'validation_failed']);
      expectNoneOfA(edit);
      expect(t.sim.completionRequests.length).toBe(before + 1);
      bSpent.tokens += own.body.assistantMessage.usage.totalTokens as number;
      bSpent.requests += 1;
    },
  },
  getMessage: {
    method: 'GET', route: 'conversations/{conversationId}/messages/{messageId}',
    asB: async () => {
      expectNotFound(await call(t.api, 'GET', `${messagesPath(a.conversation)}/${a.turnAssistantId}`, { user: B }));
      // A's message under B's own conversation: still not B's.
      const mine = await newConversation(t.api, B);
      expectNotFound(await call(t.api, 'GET', `${messagesPath(mine)}/${a.turnAssistantId}`, { user: B }));
    },
  },
  regenerateMessage: {
    method: 'POST', route: 'conversations/{conversationId}/messages/{messageId}/regenerate',
    asB: async () => {
      const before = t.sim.completionRequests.length;
      expectNotFound(await call(t.api, 'POST', `${messagesPath(a.conversation)}/${a.turnAssistantId}/regenerate`, { user: B }));
      expectNotFound(await call(t.api, 'POST', `${messagesPath(a.conversation)}/${a.turnAssistantId}/regenerate`, {
        user: B, headers: { accept: 'application/json', 'idempotency-key': A_KEY },
      }));
      const mine = await newConversation(t.api, B);
      expectNotFound(await call(t.api, 'POST', `${messagesPath(mine)}/${a.turnAssistantId}/regenerate`, { user: B, headers: { accept: 'application/json' } }));
      expect(t.sim.completionRequests.length).toBe(before);
    },
  },
  stopMessage: {
    method: 'POST', route: 'conversations/{conversationId}/messages/{messageId}/stop',
    asB: async (path) => {
      // A's reply in A's conversation, and A's reply named under B's own conversation: both unknown to B.
      expectNotFound(await call(t.api, 'POST', path(a.conversation).replace('{messageId}', a.turnAssistantId), { user: B }));
      const mine = await newConversation(t.api, B);
      expectNotFound(await call(t.api, 'POST', path(mine).replace('{messageId}', a.turnAssistantId), { user: B }));
    },
  },
  streamMessage: {
    method: 'GET', route: 'conversations/{conversationId}/messages/{messageId}/stream',
    asB: async (path) => {
      expectNotFound(await call(t.api, 'GET', path(a.conversation).replace('{messageId}', a.turnAssistantId), { user: B }));
      expectNotFound(await call(t.api, 'GET', `${path(a.conversation).replace('{messageId}', a.turnAssistantId)}?lastEventId=0`, { user: B, headers: { 'last-event-id': '3' } }));
      const mine = await newConversation(t.api, B);
      expectNotFound(await call(t.api, 'GET', path(mine).replace('{messageId}', a.turnAssistantId), { user: B }));
    },
  },
  putMessageFeedback: {
    method: 'PUT', route: 'conversations/{conversationId}/messages/{messageId}/feedback',
    asB: async () => {
      // A's reply in A's conversation, and A's reply id under B's own conversation: 404 both, nothing written.
      const mine = await newConversation(t.api, B);
      for (const conversation of [a.conversation, mine]) {
        const path = `/conversations/${conversation}/messages/${a.turnAssistantId}/feedback`;
        const res = await call(t.api, 'PUT', path, { user: B, body: { rating: 'down', comment: 'B was here' } });
        expectNotFound(res);
      }
    },
  },
  deleteMessageFeedback: {
    method: 'DELETE', route: 'conversations/{conversationId}/messages/{messageId}/feedback',
    asB: async () => {
      const mine = await newConversation(t.api, B);
      for (const conversation of [a.conversation, mine]) {
        expectNotFound(await call(t.api, 'DELETE', `/conversations/${conversation}/messages/${a.turnAssistantId}/feedback`, { user: B }));
      }
    },
  },
  getUsage: {
    method: 'GET', route: 'usage',
    asB: async () => {
      // B's totals are exactly B's own turns (this file's rows may have run one), never A's added in.
      const res = await call(t.api, 'GET', '/usage', { user: B });
      expect(res.status).toBe(200);
      expect(res.body.totals).toMatchObject({ totalTokens: bSpent.tokens, requests: bSpent.requests });
      expectNoneOfA(res);
      const aUsage = (await call(t.api, 'GET', '/usage', { user: A })).body.totals;
      expect(aUsage.totalTokens).toBeGreaterThan(0);
      expect(res.body.totals.totalTokens).not.toBe(aUsage.totalTokens + bSpent.tokens);
    },
  },
};

beforeAll(async () => {
  t = await startTestApp();
  const other = await newConversation(t.api, A, { title: 'the secret of user A, older' });
  const conversation = await newConversation(t.api, A, { title: 'the secret of user A', systemPrompt: 'the secret of user A' });
  const turn = await call(t.api, 'POST', messagesPath(conversation), {
    user: A, body: { content: 'the secret of user A is here' }, headers: { accept: 'application/json', 'idempotency-key': A_KEY },
  });
  if (turn.status !== 201) throw new Error(`A's turn failed: ${turn.status} ${turn.raw}`);
  const rated = await call(t.api, 'PUT', `${messagesPath(conversation)}/${turn.body.assistantMessage.id}/feedback`, {
    user: A, body: { rating: 'up', comment: 'the secret of user A likes it' },
  });
  if (rated.status !== 200) throw new Error(`A's feedback failed: ${rated.status} ${rated.raw}`);
  const got = await call(t.api, 'GET', convPath(conversation), { user: A });
  const page = await call(t.api, 'GET', '/conversations?limit=1', { user: A });
  if (!page.body.nextCursor) throw new Error('expected a second page of A conversations');
  a = { conversation, other, etag: got.body.etag, cursor: page.body.nextCursor, turnAssistantId: turn.body.assistantMessage.id };
  const usage = (await call(t.api, 'GET', '/usage', { user: A })).body;
  aBefore = { docs: await docsOf(A), usage: { totals: usage.totals, days: usage.days } };
});
afterAll(() => t?.close());

describe('user isolation on every route', () => {
  it('has exactly one row per registered HTTP function, with its method and route', () => {
    expect(Object.keys(TABLE).sort()).toEqual(registered.map((f) => f.name).sort());
    for (const f of registered) {
      const row = TABLE[f.name]!;
      expect({ name: f.name, methods: f.methods, route: f.route }).toEqual({ name: f.name, methods: row.methods ?? [row.method], route: row.route });
    }
  });

  it("starts with A's usage recorded and B's at zero", async () => {
    expect((aBefore.usage as { totals: { totalTokens: number } }).totals.totalTokens).toBeGreaterThan(0);
    const bUsage = (await call(t.api, 'GET', '/usage', { user: B })).body;
    expect(bUsage.totals).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 });
    expect(bUsage.days.every((d: { totalTokens: number }) => d.totalTokens === 0)).toBe(true);
  });

  it.each(registered.map((f) => [f.name, f] as const))("%s: user B gets 404 on A's resources and none of A's data", async (name, f) => {
    const row = TABLE[name];
    if (!row) throw new Error(`no isolation row for the registered function "${name}" (${f.methods.join(',')} ${f.route})`);
    await row.asB((id) => `/${row.route.replace('{conversationId}', id)}`);
  });

  it("leaves A's data as it was, all still readable by A", async () => {
    expect(await docsOf(A)).toBe(aBefore.docs);
    const usage = (await call(t.api, 'GET', '/usage', { user: A })).body;
    expect({ totals: usage.totals, days: usage.days }).toEqual(aBefore.usage);
    const read = await call(t.api, 'GET', convPath(a.conversation), { user: A });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ title: 'the secret of user A', messageCount: 2 });
    const messages = await call(t.api, 'GET', messagesPath(a.conversation), { user: A });
    expect(messages.body.items.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    const list = await call(t.api, 'GET', '/conversations', { user: A });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([a.conversation, a.other]);
  });
});
