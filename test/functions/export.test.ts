import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/chat/ids.js';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation, type TurnResponse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** GET /api/conversations/{id}/export over real sockets: JSON of every branch, Markdown of the active one. */

const USER = 'export-user';
const OTHER = 'export-other';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ simulator: { replyWords: 6 } });
});
afterAll(() => t?.close());

type Msg = { id: string; role: string; content: string; parentId: string | null; status: string; feedback?: unknown; siblingIds?: string[] };

const json = { accept: 'application/json' };
const markdown = { accept: 'text/markdown' };
const messages = (id: string) => `/conversations/${id}/messages`;
const exportOf = (id: string, headers: Record<string, string> = json, user = USER) => call(t.api, 'GET', `/conversations/${id}/export`, { user, headers });

async function turn(id: string, content: string, extra: Record<string, unknown> = {}): Promise<{ user: Msg; assistant: Msg }> {
  const res = await call(t.api, 'POST', messages(id), { user: USER, body: { content, ...extra }, headers: json });
  if (res.status !== 201) throw new Error(`turn failed: ${res.status} ${res.raw}`);
  return { user: res.body.userMessage, assistant: res.body.assistantMessage };
}

/** Every message of every branch as the listing gives it, all pages. */
async function everyBranch(id: string): Promise<Msg[]> {
  const all: Msg[] = [];
  let cursor: string | null = null;
  do {
    const res: TurnResponse = await call(t.api, 'GET', `${messages(id)}?branch=all&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { user: USER });
    expect(res.status, res.raw).toBe(200);
    all.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return all;
}

/** The Markdown this service writes for a branch whose messages all ended `complete` and leave no block open. */
function expectedMarkdown(title: string, branch: readonly Msg[]): string {
  return `# ${title}\n${branch.map((m) => `\n## ${m.role === 'user' ? 'User' : 'Assistant'}\n\n${m.content}\n`).join('')}`;
}

function idsOf(page: IteratorResult<readonly { readonly id: string }[]>): string[] | null {
  return page.done ? null : page.value.map((m) => m.id);
}

function withoutSiblings({ siblingIds: _siblingIds, ...m }: Msg): Msg {
  return m;
}

describe('a conversation with two branches (an edit and a regeneration)', () => {
  let id: string;
  let q1: { user: Msg; assistant: Msg };
  let q2: { user: Msg; assistant: Msg };
  let edited: { user: Msg; assistant: Msg };
  let regenerated: Msg;
  let ratings: Record<string, unknown>;

  beforeAll(async () => {
    id = await newConversation(t.api, USER, { title: 'Two branches', systemPrompt: 'Be brief.' });
    q1 = await turn(id, 'first question');
    q2 = await turn(id, 'second question');
    edited = await turn(id, 'second question, edited', { parentId: q1.assistant.id });
    const regen = await call(t.api, 'POST', `${messages(id)}/${edited.assistant.id}/regenerate`, { user: USER, headers: json });
    expect(regen.status, regen.raw).toBe(201);
    regenerated = regen.body.assistantMessage;
    ratings = {};
    for (const [message, body] of [[q1.assistant, { rating: 'up', comment: 'Good start.' }], [q2.assistant, { rating: 'down' }]] as const) {
      const rated = await call(t.api, 'PUT', `${messages(id)}/${message.id}/feedback`, { user: USER, body });
      expect(rated.status, rated.raw).toBe(200);
      ratings[message.id] = rated.body.feedback;
    }
  });

  it('JSON: the conversation as read, and every message of every branch oldest first, with parentId and feedback', async () => {
    const before = await snapshot(t.container);
    const res = await exportOf(id);
    expect(res.status, res.raw).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.json"`);
    expect(Object.keys(res.body)).toEqual(['conversation', 'messages']);
    expect(res.body.conversation).toEqual((await call(t.api, 'GET', `/conversations/${id}`, { user: USER })).body);
    expect(res.body.conversation).toMatchObject({ messageCount: 7, activeLeafId: regenerated.id });
    const exported = res.body.messages as Msg[];
    expect(exported.map((m) => m.id)).toEqual([q1.user.id, q1.assistant.id, q2.user.id, q2.assistant.id, edited.user.id, edited.assistant.id, regenerated.id]);
    expect(exported.map((m) => m.parentId)).toEqual([null, q1.user.id, q1.assistant.id, q2.user.id, q1.assistant.id, edited.user.id, edited.user.id]);
    expect(exported.map((m) => m.content.slice(0, 23))).toEqual([
      'first question', q1.assistant.content.slice(0, 23), 'second question', q2.assistant.content.slice(0, 23), 'second question, edited',
      edited.assistant.content.slice(0, 23), regenerated.content.slice(0, 23),
    ]);
    expect(Object.fromEntries(exported.filter((m) => m.feedback).map((m) => [m.id, m.feedback]))).toEqual(ratings);
    // Each message exactly as the listing of every branch gives it, less the siblings (the parents say them).
    expect(exported).toEqual((await everyBranch(id)).map(withoutSiblings));
    expect(await snapshot(t.container)).toBe(before);
  });

  it('Markdown: exactly the active branch, in order, each message under its role; a branch switch changes it', async () => {
    const res = await exportOf(id, markdown);
    expect(res.status, res.raw).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.md"`);
    expect(res.raw).toBe(expectedMarkdown('Two branches', [q1.user, q1.assistant, edited.user, regenerated]));
    expect(res.raw.match(/^## /gm)).toHaveLength(4);

    const switched = await call(t.api, 'PATCH', `/conversations/${id}`, { user: USER, body: { activeMessageId: q2.user.id } });
    expect(switched.status, switched.raw).toBe(200);
    expect((await exportOf(id, markdown)).raw).toBe(expectedMarkdown('Two branches', [q1.user, q1.assistant, q2.user, q2.assistant]));
    // JSON is every branch, whichever is active.
    expect((await exportOf(id)).body.messages).toHaveLength(7);
  });
});

describe('an empty conversation', () => {
  it('exports its conversation and no messages; its Markdown is the title alone', async () => {
    const id = await newConversation(t.api, USER, { title: 'Nothing yet' });
    const res = await exportOf(id, {});
    expect(res.status, res.raw).toBe(200);
    expect(res.body).toEqual({ conversation: (await call(t.api, 'GET', `/conversations/${id}`, { user: USER })).body, messages: [] });
    expect(res.body.conversation).toMatchObject({ messageCount: 0, activeLeafId: null });
    expect((await exportOf(id, markdown)).raw).toBe('# Nothing yet\n');
  });
});

describe('content kept exactly, and replies that did not complete', () => {
  it('JSON has the stored bytes; Markdown keeps them verbatim, closes a fence they leave open, and names the failed reply', async () => {
    const id = await newConversation(t.api, USER, { title: 'Markdown inside' });
    const tricky = '## Assistant\n\nNot a heading of the export.\r\n\n```ts\nconst open = "fence"; // never closed';
    t.sim.faults.next({ kind: 'status', status: 500 });
    const res = await call(t.api, 'POST', messages(id), { user: USER, body: { content: tricky }, headers: json });
    expect([res.status, res.body.code]).toEqual([502, 'upstream_error']);
    const [asked, failed] = await everyBranch(id);
    expect(failed).toMatchObject({ status: 'failed', content: '' });
    const exported = (await exportOf(id)).body.messages as Msg[];
    expect(exported.map((m) => m.content)).toEqual([tricky, '']);
    expect(exported.map((m) => m.id)).toEqual([asked!.id, failed!.id]);
    const md = (await exportOf(id, markdown)).raw;
    expect(md).toBe(`# Markdown inside\n\n## User\n\n${tricky}\n\`\`\`\n\n## Assistant (failed: upstream_error)\n`);
  });
});

describe('conversations stored before branches', () => {
  /** Documents in the shape earlier versions wrote (as test/functions/branches.test.ts seeds them), statuses as given. */
  async function legacyConversation(user: string, count: number, status: (seq: number) => Record<string, unknown> = () => ({ status: 'complete' })) {
    const id = newId('c');
    const at = '2026-01-01T00:00:00.000Z';
    await t.container.items.create({
      id, userId: user, type: 'conversation', title: 'old', model: t.sim.model.id, systemPrompt: null, settings: { maxTokens: 64 },
      createdAt: at, updatedAt: at, messageCount: count, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      lastSeq: count, activeTurn: null, recentTurns: [],
    });
    const ids: string[] = [];
    for (let seq = 1; seq <= count; seq += 1) {
      const turnBody = `${id.slice(2, 12)}${String(seq).padStart(11, '0')}`.slice(0, 21);
      const mid = `m_${turnBody}${seq % 2 ? 'u' : 'a'}`;
      ids.push(mid);
      await t.container.items.create({
        id: mid, userId: user, type: 'message', conversationId: id, role: seq % 2 ? 'user' : 'assistant',
        content: seq % 2 ? `old question ${seq}` : `old answer ${seq}`, createdAt: at, tokenCount: 4, seq, turnId: `t_${turnBody}`,
        ...(seq % 2 ? { status: 'complete' } : status(seq)),
      });
    }
    return { id, ids };
  }

  it('exports as one branch: parents by order, across pages of the store too; its Markdown is the whole line', async () => {
    // 110 messages: the walk reads them in two pages, and the first of the second page still gets its parent.
    const { id, ids } = await legacyConversation(USER, 110);
    const res = await exportOf(id);
    expect(res.status, res.raw).toBe(200);
    const exported = res.body.messages as Msg[];
    expect(exported.map((m) => m.id)).toEqual(ids);
    expect(exported.map((m) => m.parentId)).toEqual([null, ...ids.slice(0, -1)]);
    expect(res.body.conversation).toMatchObject({ activeLeafId: ids.at(-1), messageCount: 110 });
    const md = (await exportOf(id, markdown)).raw;
    expect(md).toBe(expectedMarkdown('old', exported));
    expect(md.match(/^## User$/gm)).toHaveLength(55);
  });

  it('the walk reads a page only when it is taken, along the branch active when it started', async () => {
    const { id, ids } = await legacyConversation(USER, 150);
    const pages = (await t.services.conversations.export(USER, id, 'active')).pages[Symbol.asyncIterator]();
    expect(idsOf(await pages.next())).toEqual(ids.slice(0, 100));
    // Half-way through, an edit after the 50th message makes a new branch active: the walk keeps to the old one.
    const edit = await turn(id, 'edited 51', { parentId: ids[49] });
    expect(idsOf(await pages.next())).toEqual(ids.slice(100));
    expect((await pages.next()).done).toBe(true);
    // A new export shows the new branch.
    const md = (await exportOf(id, markdown)).raw;
    expect(md.match(/^## .*$/gm)).toHaveLength(52);
    expect(md.endsWith(`\n## User\n\nedited 51\n\n## Assistant\n\n${edit.assistant.content}\n`)).toBe(true);
  });

  it('a page that cannot be read after the first fails the walk instead of ending it', async () => {
    const { id } = await legacyConversation(USER, 150);
    const pages = (await t.services.conversations.export(USER, id, 'all')).pages[Symbol.asyncIterator]();
    expect((await pages.next()).value).toHaveLength(100);
    expect((await call(t.api, 'DELETE', `/conversations/${id}`, { user: USER })).status).toBe(204);
    await expect(pages.next()).rejects.toMatchObject({ code: 'not_found' });
  });

  it('Markdown names incomplete and filtered replies with their reasons', async () => {
    const statuses: Record<number, Record<string, unknown>> = {
      2: { status: 'incomplete', finishReason: 'cancelled' },
      4: { status: 'filtered', finishReason: 'content_filter' },
    };
    const { id } = await legacyConversation(USER, 4, (seq) => statuses[seq]!);
    const md = (await exportOf(id, markdown)).raw;
    expect(md).toBe('# old\n\n## User\n\nold question 1\n\n## Assistant (incomplete: cancelled)\n\nold answer 2\n'
      + '\n## User\n\nold question 3\n\n## Assistant (filtered: content_filter)\n\nold answer 4\n');
    const exported = (await exportOf(id)).body.messages as Msg[];
    expect(exported.map((m) => m.status)).toEqual(['complete', 'incomplete', 'complete', 'filtered']);
  });
});

describe('refusals', () => {
  it("another user's conversation, an unknown or a malformed id: 404, and nothing changes", async () => {
    const id = await newConversation(t.api, USER, { title: 'mine' });
    await turn(id, 'private');
    const before = await snapshot(t.container);
    for (const [conversation, user] of [[id, OTHER], ['c_AAAAAAAAAAAAAAAAAAAAAA', USER], ['not-an-id', USER]] as const) {
      for (const headers of [json, markdown]) {
        const res = await exportOf(conversation, headers, user);
        expect([res.status, res.body.code], res.raw).toEqual([404, 'not_found']);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(res.raw).not.toContain('private');
      }
    }
    expect(await snapshot(t.container)).toBe(before);
  });

  it('an unsupported Accept gets JSON; a query parameter is 400; another method 405', async () => {
    const id = await newConversation(t.api, USER, { title: 'formats' });
    const html = await exportOf(id, { accept: 'text/html' });
    expect([html.status, html.headers.get('content-type'), html.body.messages]).toEqual([200, 'application/json; charset=utf-8', []]);
    const query = await call(t.api, 'GET', `/conversations/${id}/export?branch=all`, { user: USER });
    expect([query.status, query.body.code]).toEqual([400, 'validation_failed']);
    const post = await call(t.api, 'POST', `/conversations/${id}/export`, { user: USER });
    expect([post.status, post.body.code, post.headers.get('allow')]).toEqual([405, 'method_not_allowed', 'GET']);
  });
});
