import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/chat/ids.js';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** The message tree over real sockets: edits, regenerations, branch switches, listings and their refusals. */

const USER = 'branches-user';
const OTHER = 'branches-other';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ simulator: { replyWords: 6 } });
});
afterAll(() => t?.close());

type Msg = { id: string; role: string; content: string; parentId: string | null; siblingIds?: string[]; status: string };

const json = { accept: 'application/json' };
const messages = (id: string) => `/conversations/${id}/messages`;

async function send(id: string, content: string, extra: Record<string, unknown> = {}, user = USER): Promise<TurnResponse> {
  return call(t.api, 'POST', messages(id), { user, body: { content, ...extra }, headers: json });
}

async function turn(id: string, content: string, extra: Record<string, unknown> = {}): Promise<{ user: Msg; assistant: Msg }> {
  const res = await send(id, content, extra);
  if (res.status !== 201) throw new Error(`turn failed: ${res.status} ${res.raw}`);
  return { user: res.body.userMessage, assistant: res.body.assistantMessage };
}

async function regenerate(id: string, messageId: string, headers: Record<string, string> = {}, user = USER): Promise<TurnResponse> {
  return call(t.api, 'POST', `${messages(id)}/${messageId}/regenerate`, { user, headers: { ...json, ...headers } });
}

async function list(id: string, query = ''): Promise<Msg[]> {
  const res = await call(t.api, 'GET', `${messages(id)}?limit=100${query}`, { user: USER });
  expect(res.status, res.raw).toBe(200);
  return res.body.items;
}

async function conversation(id: string, user = USER): Promise<TurnResponse> {
  return call(t.api, 'GET', `/conversations/${id}`, { user });
}

/** The prompt of the simulator's last completion request, as role: content pairs. */
function lastPrompt(): string[] {
  const body = t.sim.completionRequests.at(-1)?.body as { messages: { role: string; content: string }[] };
  return body.messages.map((m) => `${m.role}: ${m.content}`);
}

function expectProblem(res: TurnResponse, status: number, code: string, field?: string): void {
  expect(res.status, res.raw).toBe(status);
  expect(res.body.code).toBe(code);
  if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
}

describe('a linear conversation', () => {
  it('chains parentId, shows each message as its own only sibling, and names the last reply as the active leaf', async () => {
    const id = await newConversation(t.api, USER);
    expect((await conversation(id)).body.activeLeafId).toBeNull();
    const first = await turn(id, 'one');
    const second = await turn(id, 'two');
    const items = await list(id);
    expect(items.map((m) => m.id)).toEqual([first.user.id, first.assistant.id, second.user.id, second.assistant.id]);
    expect(items.map((m) => m.parentId)).toEqual([null, first.user.id, first.assistant.id, second.user.id]);
    for (const m of items) expect(m.siblingIds).toEqual([m.id]);
    expect(first.user.parentId).toBeNull();
    expect(second.user.parentId).toBe(first.assistant.id);
    expect((await conversation(id)).body.activeLeafId).toBe(second.assistant.id);
  });
});

describe('edit, regenerate, switch', () => {
  let id: string;
  let a: { user: Msg; assistant: Msg };
  let b: { user: Msg; assistant: Msg };
  let edited: { user: Msg; assistant: Msg };

  beforeAll(async () => {
    id = await newConversation(t.api, USER, { systemPrompt: 'Be brief.' });
    a = await turn(id, 'first question');
    b = await turn(id, 'second question');
  });

  it('an edit (parentId) opens a branch: its prompt is that path only, it becomes active, the old one stays', async () => {
    edited = await turn(id, 'second question, edited', { parentId: a.assistant.id });
    expect(lastPrompt()).toEqual(['system: Be brief.', 'user: first question', `assistant: ${a.assistant.content}`, 'user: second question, edited']);
    expect(edited.user.parentId).toBe(a.assistant.id);
    const active = await list(id);
    expect(active.map((m) => m.id)).toEqual([a.user.id, a.assistant.id, edited.user.id, edited.assistant.id]);
    expect(active[2]!.siblingIds).toEqual([b.user.id, edited.user.id]);
    const all = await list(id, '&branch=all');
    expect(all.map((m) => m.id)).toEqual([a.user.id, a.assistant.id, b.user.id, b.assistant.id, edited.user.id, edited.assistant.id]);
    expect(all.find((m) => m.id === b.user.id)!.siblingIds).toEqual([b.user.id, edited.user.id]);
    const c = (await conversation(id)).body;
    expect(c).toMatchObject({ activeLeafId: edited.assistant.id, messageCount: 6 });
  });

  it('a turn after the edit continues the edited branch', async () => {
    const next = await turn(id, 'third');
    expect(next.user.parentId).toBe(edited.assistant.id);
    expect(lastPrompt()).toEqual([
      'system: Be brief.', 'user: first question', `assistant: ${a.assistant.content}`, 'user: second question, edited',
      `assistant: ${edited.assistant.content}`, 'user: third',
    ]);
    // Back to where the edit was, for the tests below.
    const res = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: edited.assistant.id } });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.activeLeafId).toBe(next.assistant.id);
  });

  it('regenerate (assistant id) adds a sibling reply to the same user message, streamed with that message', async () => {
    const before = t.sim.completionRequests.length;
    const res = await call(t.api, 'POST', `${messages(id)}/${b.assistant.id}/regenerate`, { user: USER });
    expect(res.status, res.raw).toBe(200);
    expect(res.events.map((e) => e.event)).toContain('message.completed');
    expect(res.events[0]!.event).toBe('message.created');
    expect(res.events[0]!.data.userMessage).toMatchObject({ id: b.user.id, content: 'second question', parentId: a.assistant.id });
    const reply = res.events.at(-1)!.data.message as Msg;
    expect(reply.parentId).toBe(b.user.id);
    expect(t.sim.completionRequests.length).toBe(before + 1);
    expect(lastPrompt()).toEqual(['system: Be brief.', 'user: first question', `assistant: ${a.assistant.content}`, 'user: second question']);
    const got = await call(t.api, 'GET', `${messages(id)}/${reply.id}`, { user: USER });
    expect(got.body).toMatchObject({ id: reply.id, parentId: b.user.id, siblingIds: [b.assistant.id, reply.id] });
    const c = (await conversation(id)).body;
    expect(c.activeLeafId).toBe(reply.id);
    expect(c.messageCount).toBe(9);
    expect((await list(id)).map((m) => m.id)).toEqual([a.user.id, a.assistant.id, b.user.id, reply.id]);
  });

  it('regenerate by the user message id answers that message again', async () => {
    const res = await regenerate(id, a.user.id);
    expect(res.status, res.raw).toBe(201);
    expect(res.body.userMessage.id).toBe(a.user.id);
    expect(res.body.assistantMessage.parentId).toBe(a.user.id);
    expect(lastPrompt()).toEqual(['system: Be brief.', 'user: first question']);
    expect((await list(id)).map((m) => m.id)).toEqual([a.user.id, res.body.assistantMessage.id]);
    const got = await call(t.api, 'GET', `${messages(id)}/${a.assistant.id}`, { user: USER });
    expect(got.body.siblingIds).toEqual([a.assistant.id, res.body.assistantMessage.id]);
  });

  it('PATCH activeMessageId continues by the newest child at each step', async () => {
    // From the first reply: its newest child is the edited question, whose branch goes on to "third".
    const res = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: a.assistant.id } });
    expect(res.status, res.raw).toBe(200);
    const path = await list(id);
    expect(path.map((m) => m.content)).toEqual(['first question', a.assistant.content, 'second question, edited', edited.assistant.content, 'third', expect.any(String)]);
    expect(res.body.activeLeafId).toBe(path.at(-1)!.id);
    // To the original second question: its newest reply is the regenerated one.
    const back = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: b.user.id, title: 'renamed' } });
    expect(back.body).toMatchObject({ title: 'renamed' });
    const original = await list(id);
    expect(original.map((m) => m.id).slice(0, 3)).toEqual([a.user.id, a.assistant.id, b.user.id]);
    expect(original[3]!.siblingIds).toEqual([b.assistant.id, original[3]!.id]);
    expect(original[3]!.id).not.toBe(b.assistant.id);
    // A turn now follows the switched branch.
    const next = await turn(id, 'after the switch');
    expect(next.user.parentId).toBe(original[3]!.id);
    expect(lastPrompt().slice(-2)).toEqual([`assistant: ${original[3]!.content}`, 'user: after the switch']);
  });

  it('parentId null starts a new first message; the roots are siblings', async () => {
    const root = await turn(id, 'a fresh start', { parentId: null });
    expect(root.user.parentId).toBeNull();
    expect(lastPrompt()).toEqual(['system: Be brief.', 'user: a fresh start']);
    const active = await list(id);
    expect(active.map((m) => m.id)).toEqual([root.user.id, root.assistant.id]);
    expect(active[0]!.siblingIds).toEqual([a.user.id, root.user.id]);
  });

  it('pages the active branch and every branch with cursors, in both orders', async () => {
    await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: edited.user.id } });
    const whole = await list(id);
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: TurnResponse = await call(t.api, 'GET', `${messages(id)}?limit=2&order=desc${cursor ? `&cursor=${cursor}` : ''}`, { user: USER });
      expect(res.status, res.raw).toBe(200);
      pages.push(...res.body.items.map((m: Msg) => m.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(whole.map((m) => m.id).reverse());
    const all = await list(id, '&branch=all');
    const c = (await conversation(id)).body;
    expect(all.length).toBe(c.messageCount);
    // A cursor of the active branch is not a cursor of every branch.
    const first = await call(t.api, 'GET', `${messages(id)}?limit=1`, { user: USER });
    expectProblem(await call(t.api, 'GET', `${messages(id)}?limit=1&branch=all&cursor=${first.body.nextCursor}`, { user: USER }), 400, 'validation_failed');
  });
});

describe('refusals', () => {
  let id: string;
  let first: { user: Msg; assistant: Msg };
  let others: { id: string; turn: { user: Msg; assistant: Msg } };

  beforeAll(async () => {
    id = await newConversation(t.api, USER);
    first = await turn(id, 'hello');
    const otherId = await newConversation(t.api, OTHER);
    const res = await send(otherId, 'not yours', {}, OTHER);
    others = { id: otherId, turn: { user: res.body.userMessage, assistant: res.body.assistantMessage } };
  });

  it('parentId: a user message, another conversation\'s or user\'s message, an unknown or malformed id are 400 and store nothing', async () => {
    const mine = await newConversation(t.api, USER);
    await turn(mine, 'elsewhere');
    const elsewhere = (await list(mine))[1]!.id;
    const before = await snapshot(t.container);
    const calls = t.sim.completionRequests.length;
    for (const parentId of [first.user.id, others.turn.assistant.id, elsewhere, 'm_AAAAAAAAAAAAAAAAAAAAAa', 'not-an-id', 42]) {
      expectProblem(await send(id, 'edit', { parentId }), 400, 'validation_failed', 'parentId');
    }
    expect(t.sim.completionRequests.length).toBe(calls);
    expect(await snapshot(t.container)).toBe(before);
  });

  it('regenerate: an unknown, malformed or another user\'s message id is 404; a body field it does not take is 400', async () => {
    const before = await snapshot(t.container);
    for (const messageId of ['m_AAAAAAAAAAAAAAAAAAAAAa', 'nope', others.turn.assistant.id]) expectProblem(await regenerate(id, messageId), 404, 'not_found');
    expectProblem(await regenerate(others.id, others.turn.assistant.id), 404, 'not_found');
    const res = await call(t.api, 'POST', `${messages(id)}/${first.assistant.id}/regenerate`, { user: USER, body: { content: 'x' }, headers: json });
    expectProblem(res, 400, 'validation_failed', 'content');
    expect(await snapshot(t.container)).toBe(before);
  });

  it('GET one message: with its siblings; another conversation\'s or user\'s id is 404', async () => {
    const got = await call(t.api, 'GET', `${messages(id)}/${first.assistant.id}`, { user: USER });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: first.assistant.id, parentId: first.user.id, siblingIds: [first.assistant.id], role: 'assistant' });
    expectProblem(await call(t.api, 'GET', `${messages(id)}/${others.turn.user.id}`, { user: USER }), 404, 'not_found');
    expectProblem(await call(t.api, 'GET', `${messages(others.id)}/${others.turn.user.id}`, { user: USER }), 404, 'not_found');
    expectProblem(await call(t.api, 'GET', `${messages(id)}/bogus`, { user: USER }), 404, 'not_found');
  });

  it('PATCH activeMessageId of another conversation, another user, unknown or malformed is 400 and changes nothing', async () => {
    const before = await snapshot(t.container);
    for (const activeMessageId of [others.turn.assistant.id, 'm_AAAAAAAAAAAAAAAAAAAAAa', 'x', null]) {
      expectProblem(await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId } }), 400, 'validation_failed', 'activeMessageId');
    }
    expect(await snapshot(t.container)).toBe(before);
  });

  it('while a turn runs: an edit and a regeneration are 409, a parentId of the streaming reply is 400', async () => {
    t.sim.faults.next({ kind: 'firstByteDelayMs', ms: 1_500 });
    const running = call(t.api, 'POST', messages(id), { user: USER, body: { content: 'slow' } });
    let streaming: Msg | undefined;
    for (let i = 0; i < 100 && !streaming; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      streaming = (await list(id, '&branch=all')).find((m) => m.status === 'streaming');
    }
    expect(streaming).toBeDefined();
    expectProblem(await send(id, 'edit now', { parentId: first.assistant.id }), 409, 'conversation_busy');
    expectProblem(await regenerate(id, first.assistant.id), 409, 'conversation_busy');
    expectProblem(await regenerate(id, streaming!.id), 409, 'conversation_busy');
    expectProblem(await send(id, 'after the stream', { parentId: streaming!.id }), 400, 'validation_failed', 'parentId');
    // A branch switch is not a turn: it is allowed while one runs, and the running turn's reply stays where it was.
    const sw = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: first.user.id } });
    expect(sw.status, sw.raw).toBe(200);
    const done = await running;
    expect(done.events.at(-1)!.event).toBe('message.completed');
    expect((await list(id, '&branch=all')).filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['hello', 'slow']);
  });

  it('regenerate honours Idempotency-Key: a retry replays, the same key on a send or another message is 422', async () => {
    const key = { 'idempotency-key': 'regen-1' };
    const once = await regenerate(id, first.assistant.id, key);
    expect(once.status, once.raw).toBe(201);
    const calls = t.sim.completionRequests.length;
    const again = await regenerate(id, first.assistant.id, key);
    expect(again.status).toBe(201);
    expect(again.body.assistantMessage.id).toBe(once.body.assistantMessage.id);
    expect(t.sim.completionRequests.length).toBe(calls);
    expectProblem(await regenerate(id, first.user.id, key), 422, 'idempotency_key_reused');
    expectProblem(await call(t.api, 'POST', messages(id), { user: USER, body: { content: 'hello' }, headers: { ...json, ...key } }), 422, 'idempotency_key_reused');
    expect(t.sim.completionRequests.length).toBe(calls);
  });
});

describe('conversations stored before branches', () => {
  /** Documents in the shape earlier versions wrote: no parentId, branch, forks, activeLeafId or activePath. */
  async function legacyConversation(user: string, turns: number): Promise<{ id: string; ids: string[] }> {
    const id = newId('c');
    const at = '2026-01-01T00:00:00.000Z';
    await t.container.items.create({
      id, userId: user, type: 'conversation', title: 'old', model: t.sim.model.id, systemPrompt: null, settings: { maxTokens: 64 },
      createdAt: at, updatedAt: at, messageCount: turns * 2, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      lastSeq: turns * 2, activeTurn: null, recentTurns: [],
    });
    const ids: string[] = [];
    for (let seq = 1; seq <= turns * 2; seq += 1) {
      const turnBody = `${id.slice(2, 12)}${String(seq).padStart(11, '0')}`.slice(0, 21);
      const mid = `m_${turnBody}${seq % 2 ? 'u' : 'a'}`;
      ids.push(mid);
      await t.container.items.create({
        id: mid, userId: user, type: 'message', conversationId: id, role: seq % 2 ? 'user' : 'assistant',
        content: seq % 2 ? `old question ${seq}` : `old answer ${seq}`, status: 'complete', createdAt: at, tokenCount: 4, seq, turnId: `t_${turnBody}`,
      });
    }
    return { id, ids };
  }

  it('reads as one branch: parents by order, own siblings, the newest message as the active leaf', async () => {
    const { id, ids } = await legacyConversation(USER, 3);
    const items = await list(id);
    expect(items.map((m) => m.id)).toEqual(ids);
    expect(items.map((m) => m.parentId)).toEqual([null, ...ids.slice(0, -1)]);
    for (const m of items) expect(m.siblingIds).toEqual([m.id]);
    expect((await list(id, '&branch=all')).map((m) => m.parentId)).toEqual([null, ...ids.slice(0, -1)]);
    // The second page's first message still gets its parent (read across the page boundary).
    const page = await call(t.api, 'GET', `${messages(id)}?limit=2`, { user: USER });
    const next = await call(t.api, 'GET', `${messages(id)}?limit=2&cursor=${page.body.nextCursor}`, { user: USER });
    expect(next.body.items[0]).toMatchObject({ id: ids[2], parentId: ids[1] });
    expect((await call(t.api, 'GET', `${messages(id)}/${ids[3]}`, { user: USER })).body).toMatchObject({ parentId: ids[2], siblingIds: [ids[3]] });
    expect((await conversation(id)).body.activeLeafId).toBe(ids[5]);
  });

  it('a turn follows the newest message with the whole line as its prompt', async () => {
    const { id, ids } = await legacyConversation(USER, 2);
    const next = await turn(id, 'new question');
    expect(next.user.parentId).toBe(ids[3]);
    expect(lastPrompt()).toEqual(['user: old question 1', 'assistant: old answer 2', 'user: old question 3', 'assistant: old answer 4', 'user: new question']);
    expect((await list(id)).map((m) => m.id)).toEqual([...ids, next.user.id, next.assistant.id]);
  });

  it('an edit or a regeneration from an old message writes the old sibling\'s parentId, so both list each other', async () => {
    const { id, ids } = await legacyConversation(USER, 3);
    const edit = await turn(id, 'edited 3', { parentId: ids[1] });
    expect(lastPrompt()).toEqual(['user: old question 1', 'assistant: old answer 2', 'user: edited 3']);
    const { resources } = await t.container.items.query({ query: 'SELECT * FROM c WHERE c.id = @id', parameters: [{ name: '@id', value: ids[2]! }] }).fetchAll();
    expect(resources[0].parentId).toBe(ids[1]);
    expect((await call(t.api, 'GET', `${messages(id)}/${edit.user.id}`, { user: USER })).body.siblingIds).toEqual([ids[2], edit.user.id]);
    const regen = await regenerate(id, ids[1]!);
    expect(regen.status, regen.raw).toBe(201);
    expect(regen.body.userMessage).toMatchObject({ id: ids[0], parentId: null });
    expect(lastPrompt()).toEqual(['user: old question 1']);
    expect((await call(t.api, 'GET', `${messages(id)}/${ids[1]}`, { user: USER })).body.siblingIds).toEqual([ids[1], regen.body.assistantMessage.id]);
    // Back to the old line: it is still whole.
    await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: ids[2] } });
    expect((await list(id)).map((m) => m.id)).toEqual(ids);
    const c = (await conversation(id)).body;
    expect(c.messageCount).toBe(6 + 2 + 1);
    expect((await list(id, '&branch=all')).length).toBe(9);
  });
});
