import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages as readAllPages, call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const get = (user: string, path: string, headers: Record<string, string> = {}) => call(t.api, 'GET', path, { user, headers });

/** One finished turn in JSON mode: a user and an assistant message. */
async function turn(user: string, id: string, content: string): Promise<void> {
  const res = await call(t.api, 'POST', `/conversations/${id}/messages`, {
    user, body: { content }, headers: { accept: 'application/json' },
  });
  expect(res.status, res.raw).toBe(201);
}

/**
 * What is left in the container of a conversation's own documents, read directly rather than through the service.
 * The usage spent in it is the caller's, not the conversation's (it outlives it): `usageTurn` documents are left out.
 */
async function documentsOf(user: string, conversationId: string): Promise<{ id: string; type: string }[]> {
  const { resources } = await t.container.items
    .query<{ id: string; type: string }>(
      {
        query: 'SELECT c.id, c.type FROM c WHERE c.userId = @u AND (c.conversationId = @c OR c.id = @c) AND c.type != "usageTurn"',
        parameters: [{ name: '@u', value: user }, { name: '@c', value: conversationId }],
      },
      { partitionKey: user },
    )
    .fetchAll();
  return resources;
}

/** Does to the stored conversation what deleteConversation's first step does, then "loses the instance". */
async function halfDelete(user: string, id: string): Promise<void> {
  const item = t.container.item(id, user);
  const { resource } = await item.read<Record<string, unknown>>();
  await item.replace({ ...resource!, deletedAt: new Date().toISOString() });
}

/** A listed item as the tests read it. */
type Item = Record<string, string> & { id: string };

async function allPages(user: string, path: string, limit: number): Promise<{ ids: string[]; pages: number; items: Item[] }> {
  const { items, pages } = await readAllPages<Item>(t.api, user, path, limit, 20);
  return { ids: items.map((i) => i.id), pages, items };
}

describe('conversation CRUD', () => {
  const USER = 'crud-user';

  it('creates with 201, Location and a quoted ETag matching the body, and reads it back', async () => {
    const res = await call(t.api, 'POST', '/conversations', {
      user: USER, body: { title: 'Trip', systemPrompt: 'Be brief.', settings: { temperature: 0.2, stop: ['END'] } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.id).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('location')).toBe(`/api/conversations/${res.body.id}`);
    expect(res.headers.get('etag')).toBe(`"${res.body.etag}"`);
    expect(res.body).toMatchObject({
      title: 'Trip', titleSource: 'user', model: t.sim.model.id, systemPrompt: 'Be brief.', messageCount: 0,
      settings: { temperature: 0.2, topP: 1, maxTokens: 1024, stop: ['END'], presencePenalty: 0, frequencyPenalty: 0 },
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    });
    expect(res.body.createdAt).toBe(res.body.updatedAt);
    expect(Object.keys(res.body).sort()).toEqual(
      ['activeLeafId', 'createdAt', 'etag', 'id', 'messageCount', 'model', 'settings', 'systemPrompt', 'title', 'titleSource', 'updatedAt', 'usage'],
    );

    const read = await get(USER, `/conversations/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    expect(read.headers.get('etag')).toBe(`"${res.body.etag}"`);
  });

  it('creates with defaults from an empty body', async () => {
    const res = await call(t.api, 'POST', '/conversations', { user: USER });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ title: 'New conversation', titleSource: null, systemPrompt: null, model: t.sim.model.id });
  });

  it('PATCH changes title and systemPrompt and merges settings, with a new ETag', async () => {
    const created = (await call(t.api, 'POST', '/conversations', {
      user: USER, body: { title: 'Old', settings: { temperature: 0.3, seed: 7 } },
    })).body;
    t.clock.advance(1000);
    const res = await call(t.api, 'PATCH', `/conversations/${created.id}`, {
      user: USER, body: { title: 'New', systemPrompt: 'Speak French.', settings: { topP: 0.5 } },
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body).toMatchObject({
      title: 'New', systemPrompt: 'Speak French.',
      settings: { temperature: 0.3, seed: 7, topP: 0.5, maxTokens: 1024 },
      createdAt: created.createdAt,
    });
    expect(res.body.updatedAt > created.updatedAt).toBe(true);
    expect(res.body.etag).not.toBe(created.etag);
    expect(res.headers.get('etag')).toBe(`"${res.body.etag}"`);
    expect((await get(USER, `/conversations/${created.id}`)).body).toEqual(res.body);

    const cleared = await call(t.api, 'PATCH', `/conversations/${created.id}`, { user: USER, body: { systemPrompt: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.systemPrompt).toBeNull();
    expect(cleared.body.title).toBe('New');
  });

  it('titleSource: null for the placeholder, "user" once the client names it, a blank title on create is none', async () => {
    for (const body of [{}, { title: '   ' }]) {
      const created = await call(t.api, 'POST', '/conversations', { user: USER, body });
      expect(created.body).toMatchObject({ title: 'New conversation', titleSource: null });
      const renamed = await call(t.api, 'PATCH', `/conversations/${created.body.id}`, { user: USER, body: { title: 'Named' } });
      expect(renamed.body).toMatchObject({ title: 'Named', titleSource: 'user' });
      const systemOnly = await call(t.api, 'PATCH', `/conversations/${created.body.id}`, { user: USER, body: { systemPrompt: 'x' } });
      expect(systemOnly.body.titleSource).toBe('user');
    }
  });

  it('DELETE answers 204, then the conversation and its messages are 404 and no document is left', async () => {
    const id = await newConversation(t.api, USER);
    await turn(USER, id, 'Hello');
    expect((await documentsOf(USER, id)).map((d) => d.type).sort()).toEqual(['conversation', 'message', 'message']);

    const res = await call(t.api, 'DELETE', `/conversations/${id}`, { user: USER });
    expect(res.status).toBe(204);
    expect(res.raw).toBe('');
    expect((await get(USER, `/conversations/${id}`)).status).toBe(404);
    expect((await get(USER, `/conversations/${id}/messages`)).body.code).toBe('not_found');
    expect(await documentsOf(USER, id)).toEqual([]);
    const { resources: spent } = await t.container.items
      .query({ query: 'SELECT * FROM c WHERE c.type = "usageTurn" AND c.conversationId = @c', parameters: [{ name: '@c', value: id }] })
      .fetchAll();
    expect(spent).toHaveLength(1);
    expect((await call(t.api, 'DELETE', `/conversations/${id}`, { user: USER })).status).toBe(404);
    expect((await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { title: 'x' } })).status).toBe(404);
  });

  it('an unknown but well-formed id is 404 not_found as problem+json', async () => {
    const res = await get(USER, '/conversations/c_AAAAAAAAAAAAAAAAAAAAAA');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('paging', () => {
  it('lists 5 conversations 2 at a time: each once, newest updatedAt first, nextCursor null at the end', async () => {
    const USER = 'paging-user';
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      t.clock.advance(1000);
      ids.push(await newConversation(t.api, USER, { title: `c${i}` }));
    }
    // Touching the oldest makes it the newest.
    t.clock.advance(1000);
    expect((await call(t.api, 'PATCH', `/conversations/${ids[0]}`, { user: USER, body: { title: 'touched' } })).status).toBe(200);
    const expected = [ids[0], ids[4], ids[3], ids[2], ids[1]];

    const { ids: seen, pages, items } = await allPages(USER, '/conversations', 2);
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);
    const updated = items.map((c) => c.updatedAt);
    expect([...updated].sort().reverse()).toEqual(updated);

    const first = await get(USER, '/conversations?limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(typeof first.body.nextCursor).toBe('string');
    const all = await get(USER, '/conversations?limit=100');
    expect(all.body.items.map((c: { id: string }) => c.id)).toEqual(expected);
    expect(all.body.nextCursor).toBeNull();
    expect((await get(USER, '/conversations')).body.items).toHaveLength(5);
  });

  it('lists messages oldest first by default, newest first with order=desc, each once across pages', async () => {
    const USER = 'message-paging-user';
    const id = await newConversation(t.api, USER);
    for (const text of ['one', 'two', 'three']) await turn(USER, id, text);

    const asc = await allPages(USER, `/conversations/${id}/messages?order=asc`, 4);
    expect(asc.pages).toBe(2);
    expect(asc.items.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(asc.items.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(new Set(asc.ids).size).toBe(6);

    const byDefault = await get(USER, `/conversations/${id}/messages`);
    expect(byDefault.body.items.map((m: { id: string }) => m.id)).toEqual(asc.ids);
    expect(byDefault.body.nextCursor).toBeNull();

    const desc = await allPages(USER, `/conversations/${id}/messages?order=desc`, 2);
    expect(desc.pages).toBe(3);
    expect(desc.ids).toEqual([...asc.ids].reverse());

    // A cursor only continues the list it came from: not another order, conversation, list or caller.
    const cursor = encodeURIComponent((await get(USER, `/conversations/${id}/messages?limit=2`)).body.nextCursor as string);
    const other = await newConversation(t.api, USER);
    for (const [user, path] of [
      [USER, `/conversations/${id}/messages?order=desc&cursor=${cursor}`],
      [USER, `/conversations/${other}/messages?cursor=${cursor}`],
      [USER, `/conversations?cursor=${cursor}`],
      ['someone-else', `/conversations?cursor=${cursor}`],
    ] as const) {
      const res = await get(user, path);
      expect(res.status, path).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'cursor', message: 'unknown cursor' }]);
    }
  });
});

describe('If-Match', () => {
  const USER = 'etag-user';

  it('a stale If-Match is 412 precondition_failed and changes nothing; the current one succeeds', async () => {
    const created = (await call(t.api, 'POST', '/conversations', { user: USER, body: { title: 'v1' } })).body;
    const second = await call(t.api, 'PATCH', `/conversations/${created.id}`, {
      user: USER, body: { title: 'v2' }, headers: { 'if-match': `"${created.etag}"` },
    });
    expect(second.status).toBe(200);
    expect(second.body.etag).not.toBe(created.etag);

    const stale = await call(t.api, 'PATCH', `/conversations/${created.id}`, {
      user: USER, body: { title: 'v3', settings: { temperature: 1.5 } }, headers: { 'if-match': `"${created.etag}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(stale.body.code).toBe('precondition_failed');
    const after = await get(USER, `/conversations/${created.id}`);
    expect(after.body).toEqual(second.body);

    const current = await call(t.api, 'PATCH', `/conversations/${created.id}`, {
      user: USER, body: { title: 'v3' }, headers: { 'if-match': after.headers.get('etag')! },
    });
    expect(current.status).toBe(200);
    expect(current.body.title).toBe('v3');
    expect(current.body.etag).not.toBe(second.body.etag);
    expect(current.headers.get('etag')).toBe(`"${current.body.etag}"`);

    const star = await call(t.api, 'PATCH', `/conversations/${created.id}`, { user: USER, body: { title: 'v4' }, headers: { 'if-match': '*' } });
    expect(star.status).toBe(200);
  });
});

describe('an interrupted delete', () => {
  const USER = 'interrupted-user';

  it('hides the conversation from every read at once, and a second DELETE finishes it (answering 404, like every other read)', async () => {
    const id = await newConversation(t.api, USER);
    const kept = await newConversation(t.api, USER);
    await turn(USER, id, 'first');
    await turn(USER, id, 'second');
    await halfDelete(USER, id);
    expect((await documentsOf(USER, id)).filter((d) => d.type === 'message')).toHaveLength(4);

    expect((await get(USER, `/conversations/${id}`)).status).toBe(404);
    expect((await get(USER, `/conversations/${id}/messages`)).status).toBe(404);
    expect((await get(USER, '/conversations?limit=100')).body.items.map((c: { id: string }) => c.id)).toEqual([kept]);
    expect((await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { title: 'x' } })).status).toBe(404);
    const post = await call(t.api, 'POST', `/conversations/${id}/messages`, {
      user: USER, body: { content: 'again' }, headers: { accept: 'application/json' },
    });
    expect(post.status).toBe(404);

    expect((await call(t.api, 'DELETE', `/conversations/${id}`, { user: USER })).status).toBe(404);
    expect(await documentsOf(USER, id)).toEqual([]);
    expect((await get(USER, `/conversations/${kept}`)).status).toBe(200);
  });

  it('the background sweep finishes a half-deleted conversation and leaves live ones alone', async () => {
    const id = await newConversation(t.api, USER);
    const live = await newConversation(t.api, USER);
    await turn(USER, id, 'doomed');
    await turn(USER, live, 'kept');
    await halfDelete(USER, id);

    expect(await t.services.store.sweepDeleted()).toBeGreaterThanOrEqual(1);
    expect(await documentsOf(USER, id)).toEqual([]);
    expect((await documentsOf(USER, live)).map((d) => d.type).sort()).toEqual(['conversation', 'message', 'message']);
    expect(await t.services.store.sweepDeleted()).toBe(0);
  });
});

describe('a delete while a turn is streaming', () => {
  it('leaves no message behind once the turn ends', async () => {
    const USER = 'delete-mid-turn-user';
    const id = await newConversation(t.api, USER);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 40 });
    const streaming = call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Tell me a long story' } });
    // Wait until the turn has stored its messages (the placeholder is `streaming`), then delete mid-stream.
    for (let i = 0; i < 200 && (await documentsOf(USER, id)).length < 3; i += 1) await new Promise((r) => setTimeout(r, 10));
    expect((await documentsOf(USER, id)).length).toBe(3);
    expect((await call(t.api, 'DELETE', `/conversations/${id}`, { user: USER })).status).toBe(204);
    expect((await get(USER, `/conversations/${id}`)).status).toBe(404);

    const res = await streaming;
    expect(res.status).toBe(200);
    expect(['message.completed', 'error']).toContain(res.events.at(-1)?.event);
    expect((await get(USER, `/conversations/${id}/messages`)).status).toBe(404);
    expect(await documentsOf(USER, id)).toEqual([]);
  });
});

describe('two callers', () => {
  it('B gets 404 for every route on A’s conversation, and A’s data is untouched', async () => {
    const A = 'isolation-a';
    const B = 'isolation-b';
    const id = await newConversation(t.api, A, { title: 'secret' });
    await turn(A, id, 'private words');
    await newConversation(t.api, B, { title: 'mine' });
    const before = (await get(A, `/conversations/${id}`)).body;

    const attempts = [
      await get(B, `/conversations/${id}`),
      await call(t.api, 'PATCH', `/conversations/${id}`, { user: B, body: { title: 'stolen' } }),
      await call(t.api, 'PATCH', `/conversations/${id}`, { user: B, body: { title: 'stolen' }, headers: { 'if-match': `"${before.etag}"` } }),
      await get(B, `/conversations/${id}/messages`),
      await call(t.api, 'POST', `/conversations/${id}/messages`, { user: B, body: { content: 'hi' }, headers: { accept: 'application/json' } }),
      await call(t.api, 'POST', `/conversations/${id}/messages`, { user: B, body: { content: 'hi' } }),
      await call(t.api, 'DELETE', `/conversations/${id}`, { user: B }),
    ];
    for (const res of attempts) {
      expect(res.status, res.raw).toBe(404);
      expect(res.body.code).toBe('not_found');
    }

    const listB = (await get(B, '/conversations?limit=100')).body.items;
    expect(listB.map((c: { title: string }) => c.title)).toEqual(['mine']);
    expect((await get(A, `/conversations/${id}`)).body).toEqual(before);
    expect((await get(A, `/conversations/${id}/messages`)).body.items).toHaveLength(2);
    expect((await get(A, '/conversations')).body.items.map((c: { id: string }) => c.id)).toEqual([id]);
  });
});

describe('settings checked against the model', () => {
  const USER = 'settings-user';

  it('maxTokens above the model’s maxOutputTokens is 400 on create and on PATCH', async () => {
    const max = t.services.conversations.servedModels[0]!.maxOutputTokens;
    const create = await call(t.api, 'POST', '/conversations', { user: USER, body: { settings: { maxTokens: max + 1 } } });
    expect(create.status).toBe(400);
    expect(create.body.code).toBe('validation_failed');
    expect(create.body.errors).toEqual([expect.objectContaining({ field: 'settings.maxTokens' })]);

    const id = await newConversation(t.api, USER, { settings: { maxTokens: max } });
    const patch = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { settings: { maxTokens: max + 1 } } });
    expect(patch.status).toBe(400);
    expect(patch.body.code).toBe('validation_failed');
    expect((await get(USER, `/conversations/${id}`)).body.settings.maxTokens).toBe(max);
  });

  it('an unknown model is 400, a served one is accepted', async () => {
    const res = await call(t.api, 'POST', '/conversations', { user: USER, body: { model: 'gpt-4o' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors[0].field).toBe('model');
    const ok = await call(t.api, 'POST', '/conversations', { user: USER, body: { model: t.sim.model.id } });
    expect(ok.status).toBe(201);
  });
});
