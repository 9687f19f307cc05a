import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A forged or stale cursor is 400 `validation_failed`, never a 5xx (api.md, "Identity when deployed…"). The scope a
 * cursor carries is a hash anyone with the code can compute, so the forgeries that matter keep a real cursor's scope
 * and change the store's continuation token inside it: the SDK throws on some of those, which was answered 503.
 */

const USER = 'cursor-user';
let t: TestApp;
let conversation: string;
let listCursor: string;
let messagesCursor: string;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { c: string; s: string };
/** A cursor with `cursor`'s scope (so it passes the service's own check) around another continuation token. */
const withToken = (cursor: string, token: string) => b64(JSON.stringify({ c: token, s: decode(cursor).s }));

beforeAll(async () => {
  t = await startTestApp({ storeProxy: true });
  for (let i = 0; i < 3; i += 1) conversation = await newConversation(t.api, USER);
  for (let i = 0; i < 2; i += 1) {
    const turn = await call(t.api, 'POST', `/conversations/${conversation}/messages`, { user: USER, body: { content: `hi ${i}` }, headers: { accept: 'application/json' } });
    expect(turn.status, turn.raw).toBe(201);
  }
  listCursor = (await call(t.api, 'GET', '/conversations?limit=1', { user: USER })).body.nextCursor as string;
  messagesCursor = (await call(t.api, 'GET', `/conversations/${conversation}/messages?limit=1`, { user: USER })).body.nextCursor as string;
  expect(typeof listCursor).toBe('string');
  expect(typeof messagesCursor).toBe('string');
});
afterAll(() => t?.close());

function expectBadCursor(res: Awaited<ReturnType<typeof call>>, where: string): void {
  expect(res.status, `${where}: ${res.raw}`).toBe(400);
  expect(res.body, where).toMatchObject({ code: 'validation_failed', errors: [{ field: 'cursor', message: 'unknown cursor' }] });
}

/** Continuation tokens a forger could put under a real scope: garbage, wrong shapes, a real one tampered with. */
function forgedTokens(real: string): string[] {
  const token = decode(real).c;
  return [
    '{"x":1}',
    '{}',
    '[]',
    '[{"compositeToken":"x","orderByItems":[]}]',
    '{"token":"garbage","range":{"min":"","max":"FF"}}',
    '{"compositeToken":"garbage","orderByItems":[{"item":"x"}],"rid":"x","skipCount":-5}',
    token.replace(/\d/g, '9'),
    token.slice(0, Math.floor(token.length / 2)),
  ];
}

describe('forged and stale list cursors', () => {
  it('answers 400 to garbage base64 and to base64 of garbage JSON, on both lists', async () => {
    const garbage = [b64('garbage'), b64('{"c":'), b64('[1,2]'), b64('{"c":"x"}'), 'not*base64', b64(JSON.stringify({ c: 5, s: decode(listCursor).s }))];
    for (const cursor of garbage) {
      expectBadCursor(await call(t.api, 'GET', `/conversations?cursor=${encodeURIComponent(cursor)}`, { user: USER }), cursor);
      expectBadCursor(await call(t.api, 'GET', `/conversations/${conversation}/messages?cursor=${encodeURIComponent(cursor)}`, { user: USER }), cursor);
    }
  });

  it('answers 400, never 503, to a forged continuation token under a real scope, on both lists', async () => {
    for (const token of forgedTokens(listCursor)) {
      const res = await call(t.api, 'GET', `/conversations?limit=1&cursor=${withToken(listCursor, token)}`, { user: USER });
      // The embedded store takes some forgeries as "from the start": a page of the caller's own list is all they get.
      if (res.status === 200) expect(res.body.items.length, token).toBeLessThanOrEqual(1);
      else expectBadCursor(res, `list ${token}`);
    }
    for (const token of forgedTokens(messagesCursor)) {
      const res = await call(t.api, 'GET', `/conversations/${conversation}/messages?limit=1&cursor=${withToken(messagesCursor, token)}`, { user: USER });
      if (res.status === 200) expect(res.body.items.length, token).toBeLessThanOrEqual(1);
      else expectBadCursor(res, `messages ${token}`);
    }
    // The tokens the SDK throws on are among them: at least these are refused, not served.
    expectBadCursor(await call(t.api, 'GET', `/conversations?cursor=${withToken(listCursor, '{"x":1}')}`, { user: USER }), 'list {"x":1}');
    expectBadCursor(await call(t.api, 'GET', `/conversations/${conversation}/messages?cursor=${withToken(messagesCursor, '[]')}`, { user: USER }), 'messages []');
  });

  it('answers 400 to a cursor from another conversation, another list or another user', async () => {
    const other = await newConversation(t.api, USER);
    expectBadCursor(await call(t.api, 'GET', `/conversations/${other}/messages?cursor=${messagesCursor}`, { user: USER }), 'other conversation');
    expectBadCursor(await call(t.api, 'GET', `/conversations?cursor=${messagesCursor}`, { user: USER }), 'messages cursor on the list');
    expectBadCursor(await call(t.api, 'GET', `/conversations/${conversation}/messages?cursor=${listCursor}`, { user: USER }), 'list cursor on messages');
    expectBadCursor(await call(t.api, 'GET', `/conversations?cursor=${listCursor}`, { user: 'someone-else' }), 'another user');
  });

  it('still answers 503 when the store is down, forged cursor or not', async () => {
    await t.storeProxy!.cut();
    try {
      const forged = await call(t.api, 'GET', `/conversations?cursor=${withToken(listCursor, '{"x":1}')}`, { user: USER });
      expect(forged.status, forged.raw).toBe(503);
      expect(forged.body.code).toBe('store_unavailable');
    } finally {
      await t.storeProxy!.restore();
    }
    // And a real cursor still continues once it is back.
    const page = await call(t.api, 'GET', `/conversations?limit=1&cursor=${listCursor}`, { user: USER });
    expect(page.status, page.raw).toBe(200);
    expect(page.body.items).toHaveLength(1);
  });
});
