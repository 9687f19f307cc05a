import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatProblem, createChatClient, type ChatEvent, type ReplyStream } from '../../clients/typescript/src/index.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

let t: TestApp;

beforeAll(async () => {
  // A delay between chunks, so a reply is still streaming when a test acts on it.
  t = await startTestApp({ simulator: { chunkDelayMs: 15 } });
});
afterAll(() => t.close());
beforeEach(() => t.sim.reset());

let users = 0;
/** A client acting for a user of its own (dev mode's x-user-id), so tests never see each other's data. */
const clientFor = (options: { fetch?: typeof fetch; baseUrl?: string } = {}) =>
  createChatClient({ baseUrl: options.baseUrl ?? t.host.url, headers: { 'x-user-id': `client-user-${++users}` }, ...(options.fetch ? { fetch: options.fetch } : {}) });

/** Every event of a reply, and its text as the deltas built it. */
async function drain(stream: ReplyStream, onDelta?: (count: number) => void | Promise<void>) {
  const events: ChatEvent[] = [];
  let text = '';
  let deltas = 0;
  for await (const event of stream) {
    events.push(event);
    if (event.type === 'message.delta') {
      text += event.content;
      await onDelta?.(++deltas);
    }
  }
  return { events, text, last: events.at(-1) };
}

describe('conversations', () => {
  it('are created, read, listed newest first, updated (If-Match) and deleted', async () => {
    const client = clientFor();
    const first = await client.conversations.create({ title: 'first' });
    const second = await client.conversations.create({ title: 'second', settings: { temperature: 0.2 } });
    expect(second.settings.temperature).toBe(0.2);
    expect((await client.conversations.get(first.id)).title).toBe('first');
    expect((await client.conversations.list()).items.map((c) => c.id)).toEqual([second.id, first.id]);

    const renamed = await client.conversations.update(first.id, { title: 'renamed' }, { ifMatch: first.etag });
    expect(renamed.title).toBe('renamed');
    const stale = await client.conversations.update(first.id, { title: 'again' }, { ifMatch: first.etag }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(ChatProblem);
    expect(stale).toMatchObject({ status: 412, code: 'precondition_failed' });

    await client.conversations.delete(first.id);
    const gone = await client.conversations.get(first.id).catch((e: unknown) => e);
    expect(gone).toMatchObject({ status: 404, code: 'not_found' });
    expect((await client.conversations.list()).items.map((c) => c.id)).toEqual([second.id]);
  });

  it('refuses bad input with a typed problem naming the field', async () => {
    const problem = await clientFor().conversations.create({ settings: { temperature: 5 } }).catch((e: unknown) => e);
    expect(problem).toBeInstanceOf(ChatProblem);
    const p = problem as ChatProblem;
    expect([p.status, p.code]).toEqual([400, 'validation_failed']);
    expect(JSON.stringify(p.body.errors)).toContain('temperature');
  });
});

describe('send', () => {
  it('streams the reply as typed events, in order, the deltas adding up to the stored reply', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const stream = client.send(id, 'Tell me about streams');
    const { events, text, last } = await drain(stream);

    expect(events[0]).toMatchObject({ type: 'message.created', userMessage: { role: 'user', content: 'Tell me about streams' } });
    expect(events.filter((e) => e.type === 'message.delta').length).toBeGreaterThan(3);
    expect(last?.type).toBe('message.completed');
    const completed = last as Extract<ChatEvent, { type: 'message.completed' }>;
    expect(completed.message).toMatchObject({ role: 'assistant', status: 'complete', content: text });
    expect(stream.assistantMessageId).toBe(completed.message.id);
    expect(completed.context?.messagesIncluded).toBe(1);

    const stored = await client.messages.list(id);
    expect(stored.items.map((m) => [m.role, m.content])).toEqual([['user', 'Tell me about streams'], ['assistant', text]]);
  });

  it('sends a new Idempotency-Key per turn and the same one when it retries a POST whose answer was lost', async () => {
    const keys: (string | null)[] = [];
    let dropNext = true;
    // The first POST reaches the service and its turn runs; the answer is then lost on the way back, as on a
    // dropped mobile connection. Everything else passes through untouched.
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method !== 'POST' || !String(input).endsWith('/messages')) return response;
      keys.push(new Headers(init.headers).get('idempotency-key'));
      if (!dropNext) return response;
      dropNext = false;
      await response.body?.cancel();
      throw new TypeError('fetch failed');
    };
    const client = clientFor({ fetch: lossy });
    const { id } = await client.conversations.create();
    const stream = client.send(id, 'Only once, please');
    const { events, text, last } = await drain(stream);

    expect(last).toMatchObject({ type: 'message.completed', message: { status: 'complete', content: text } });
    expect(text.length).toBeGreaterThan(20);
    expect(events.filter((e) => e.type === 'message.created')).toHaveLength(1);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(new Set(keys)).toEqual(new Set([stream.idempotencyKey]));
    // One turn: one user message, one model call, one usage record.
    expect((await client.messages.list(id)).items.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(t.sim.completionRequests).toHaveLength(1);
    expect((await client.usage()).totals.requests).toBe(1);

    const before = keys.length;
    await drain(client.send(id, 'A second turn'));
    expect(keys).toHaveLength(before + 1);
    expect(new Set(keys).size).toBe(2);
  });

  it('works over a fetch without streaming bodies (React Native), the events arriving at the end', async () => {
    // React Native's fetch reads the whole body and offers no \`body\` stream: a real response, seen that way.
    const buffered: typeof fetch = async (input, init) => {
      const real = await fetch(input, init);
      const text = await real.text();
      return { ok: real.ok, status: real.status, headers: real.headers, body: null, text: async () => text, json: async () => JSON.parse(text) } as Response;
    };
    const client = clientFor({ fetch: buffered });
    const { id } = await client.conversations.create();
    const { events, text, last } = await drain(client.send(id, 'from a phone'));
    expect(events[0]?.type).toBe('message.created');
    expect(last).toMatchObject({ type: 'message.completed', message: { status: 'complete', content: text } });
    expect(text.length).toBeGreaterThan(20);
  });

  it('throws the problem of a turn refused before it started (unknown conversation)', async () => {
    const problem = await drain(clientFor().send('c_missing', 'hello')).catch((e: unknown) => e);
    expect(problem).toBeInstanceOf(ChatProblem);
    expect(problem).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('yields an error event when the turn fails after it started, the partial reply stored', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    t.sim.faults.next({ kind: 'dropAfterChunks', chunks: 4 });
    const { text, last } = await drain(client.send(id, 'this one breaks'));
    expect(last?.type).toBe('error');
    const problem = (last as Extract<ChatEvent, { type: 'error' }>).problem;
    expect(problem).toBeInstanceOf(ChatProblem);
    expect(problem.code).toMatch(/^upstream_/);
    const reply = (await client.messages.list(id)).items[1];
    expect(reply).toMatchObject({ status: 'incomplete', content: text });
  });
});

describe('usage and model', () => {
  it("reports today's tokens as the model counted them, and the model served", async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const { last } = await drain(client.send(id, 'count me'));
    const message = (last as Extract<ChatEvent, { type: 'message.completed' }>).message;
    const usage = await client.usage();
    expect(usage.totals).toMatchObject({ requests: 1, totalTokens: message.usage?.totalTokens });
    expect(usage.totals.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    expect(usage.quota).toMatchObject({ dailyTokenLimit: null, remainingToday: null });

    const model = await client.model();
    expect(model.models).toContain(t.sim.model.id);
    expect(model.contextWindow).toBe(t.sim.model.contextWindow);
  });
});

describe('v2: stop, resume, regenerate, branches', () => {
  it('resumes by itself after a connection cut mid-reply and yields the reply exactly once', async () => {
    const proxy: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: t.host.port });
    try {
      const requested: string[] = [];
      const recording: typeof fetch = (input, init) => {
        const url = new URL(String(input));
        requested.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
        return fetch(input, init);
      };
      const headers = { 'x-user-id': `client-user-${++users}` };
      const client = createChatClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, headers, fetch: recording });
      const direct = createChatClient({ baseUrl: t.host.url, headers });
      const { id } = await client.conversations.create();
      const stream = client.send(id, 'a long answer, please');
      let statusAtCut: string | undefined;
      const { events, text, last } = await drain(stream, async (n) => {
        if (n === 5) {
          await proxy.cut();
          statusAtCut = (await direct.messages.get(id, stream.assistantMessageId ?? '')).status;
          await proxy.restore();
        }
      });
      // The cut came mid-reply, not after it.
      expect(statusAtCut).toBe('streaming');
      const message = (last as Extract<ChatEvent, { type: 'message.completed' }>).message;
      expect(message.status).toBe('complete');
      expect(text).toBe(message.content);
      expect(events.filter((e) => e.type === 'message.created')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'message.completed')).toHaveLength(1);
      // The reply came back through the resume route, from the last event seen, after the one POST of the turn.
      expect(requested.filter((r) => r.startsWith('POST') && r.endsWith('/messages'))).toHaveLength(1);
      const resumes = requested.filter((r) => r.startsWith(`GET /api/conversations/${id}/messages/${message.id}/stream`));
      expect(resumes.length).toBeGreaterThanOrEqual(1);
      for (const resume of resumes) expect(resume).toMatch(/\?lastEventId=[1-9][0-9]*$/);
      expect((await client.messages.list(id)).items[1]?.content).toBe(text);
      expect(t.sim.completionRequests).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('stop() ends the reply incomplete with exactly the text received', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const stream = client.send(id, 'stop me');
    const { text, last } = await drain(stream, async (n) => {
      if (n === 3) await stream.stop();
    });
    expect(last).toMatchObject({ type: 'message.completed', message: { status: 'incomplete', finishReason: 'cancelled' } });
    expect((last as Extract<ChatEvent, { type: 'message.completed' }>).message.content).toBe(text);
    expect(text.length).toBeGreaterThan(0);
    expect((await client.messages.list(id)).items[1]).toMatchObject({ content: text, status: 'incomplete', finishReason: 'cancelled' });
  });

  it('regenerates a sibling reply and switches between branches', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const first = await drain(client.send(id, 'two answers'));
    const oldId = (first.last as Extract<ChatEvent, { type: 'message.completed' }>).message.id;
    const again = await drain(client.regenerate(id, oldId));
    const newId = (again.last as Extract<ChatEvent, { type: 'message.completed' }>).message.id;
    expect(newId).not.toBe(oldId);
    expect((again.events[0] as Extract<ChatEvent, { type: 'message.created' }>).userMessage.content).toBe('two answers');
    expect((await client.messages.get(id, newId)).siblingIds).toEqual([oldId, newId]);
    expect((await client.conversations.get(id)).activeLeafId).toBe(newId);
    expect((await client.messages.list(id)).items.map((m) => [m.role, m.id, m.content])).toEqual([
      ['user', expect.any(String), 'two answers'], ['assistant', newId, again.text],
    ]);
    expect((await client.switchBranch(id, oldId)).activeLeafId).toBe(oldId);
    expect((await client.messages.list(id)).items.map((m) => [m.id, m.content]).at(-1)).toEqual([oldId, first.text]);
    expect(t.sim.completionRequests).toHaveLength(2);
  });

  it('sends an edit as a new branch from the parent of the edited message', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    await drain(client.send(id, 'original'));
    const edited = await drain(client.send(id, 'edited', { parentId: null }));
    const created = edited.events[0] as Extract<ChatEvent, { type: 'message.created' }>;
    expect(created.userMessage.parentId).toBeNull();
    expect((await client.messages.list(id)).items.map((m) => m.content)).toEqual(['edited', edited.text]);
    const original = (await client.messages.list(id, { branch: 'all' })).items.find((m) => m.content === 'original');
    expect((await client.messages.get(id, created.userMessage.id)).siblingIds).toEqual([original?.id, created.userMessage.id]);
    expect((await client.messages.list(id, { branch: 'all' })).items).toHaveLength(4);
  });
});

describe('v2: feedback, search, export', () => {
  it('sets and clears feedback on a reply', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const { last } = await drain(client.send(id, 'rate me'));
    const replyId = (last as Extract<ChatEvent, { type: 'message.completed' }>).message.id;
    expect((await client.feedback.set(id, replyId, 'up', 'good')).feedback).toMatchObject({ rating: 'up', comment: 'good' });
    expect((await client.messages.get(id, replyId)).feedback).toMatchObject({ rating: 'up', comment: 'good' });
    expect((await client.feedback.set(id, replyId, 'down')).feedback).toMatchObject({ rating: 'down', comment: null });
    await client.feedback.clear(id, replyId);
    expect((await client.messages.get(id, replyId)).feedback).toBeUndefined();
  });

  it('finds conversations by title, case-insensitively', async () => {
    const client = clientFor();
    const alpha = await client.conversations.create({ title: 'Alpha trip' });
    await client.conversations.create({ title: 'beta' });
    expect((await client.conversations.search('ALPHA')).items.map((c) => c.id)).toEqual([alpha.id]);
  });

  it('exports every message as JSON and the active branch as Markdown', async () => {
    const client = clientFor();
    const { id } = await client.conversations.create();
    const { text } = await drain(client.send(id, 'export me'));
    const exported = await client.conversations.export(id);
    expect(exported.messages.map((m) => m.content)).toEqual(['export me', text]);
    expect(await client.conversations.exportMarkdown(id)).toContain(text);
  });
});

// Last in the file: its app takes over the process-wide services (useServices) and closes them when done.
describe('quota', () => {
  let q: TestApp;
  beforeAll(async () => {
    q = await startTestApp({ env: { USER_DAILY_TOKEN_LIMIT: '10' } });
  });
  afterAll(() => q.close());

  it('is a 429 quota_exceeded problem with retryAfter up to the next UTC midnight', async () => {
    const client = createChatClient({ baseUrl: q.host.url });
    const { id } = await client.conversations.create();
    await drain(client.send(id, 'this turn crosses the limit and completes'));
    expect((await client.usage()).quota.remainingToday).toBe(0);
    const refused = await drain(client.send(id, 'this one is refused')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 429, code: 'quota_exceeded' });
    const now = new Date();
    const toMidnight = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
    expect((refused as ChatProblem).retryAfter).toBeGreaterThan(0);
    expect((refused as ChatProblem).retryAfter).toBeLessThanOrEqual(Math.ceil(toMidnight) + 1);
  });
});
