import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allPages as readAllPages, call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** GET /api/conversations?q=: the caller's titles containing the text, case and accents ignored, paged as the list. */

let t: TestApp;
const USER = 'search-user';

/**
 * 250 titles, five kinds in turn: four spell "café" in different case and accents (one with a combining accent,
 * U+0065 U+0301, as some keyboards send it), the fifth does not contain it at all.
 */
const KINDS = ['Café au lait', 'CAFÉ NOIR', 'cafe creme', 'Cafe\u0301 decomposed', 'Thé vert'] as const;
const COUNT = 250;
const created: { id: string; kind: number }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  t.clock.set('2026-06-01T00:00:00Z');
  for (let i = 0; i < COUNT; i += 1) {
    // A second apart, so "newest first" is one order and the test can check it.
    t.clock.advance(1_000);
    created.push({ id: await newConversation(t.api, USER, { title: `${KINDS[i % 5]} ${i}` }), kind: i % 5 });
  }
  await newConversation(t.api, 'search-other-user', { title: 'Café of someone else' });
}, 120_000);
afterAll(() => t?.close());

interface Listed { id: string; title: string; updatedAt: string; titleSource: string }

function search(q: string, limit: number): Promise<{ items: Listed[]; pages: number }> {
  return readAllPages<Listed>(t.api, USER, `/conversations?q=${encodeURIComponent(q)}`, limit, 100);
}

describe('title search', () => {
  it('finds every title containing "café" in any case or accent, 20 a page, none missing or repeated, newest first', async () => {
    const expected = created.filter((c) => c.kind !== 4).map((c) => c.id).reverse();
    expect(expected).toHaveLength(200);
    for (const q of ['café', 'CAFE', 'Cafe\u0301', 'cAfÉ']) {
      const { items, pages } = await search(q, 20);
      const ids = items.map((i) => i.id);
      expect(new Set(ids).size, q).toBe(ids.length);
      expect(ids, q).toEqual(expected);
      expect(pages).toBeGreaterThanOrEqual(10);
      for (let i = 1; i < items.length; i += 1) expect(items[i - 1]!.updatedAt > items[i]!.updatedAt).toBe(true);
      expect(items.every((i) => i.titleSource === 'user')).toBe(true);
    }
  });

  it('matches inside titles and across words, and finds only what contains the text', async () => {
    const tea = await search('THE VERT', 20);
    expect(tea.items.map((i) => i.id)).toEqual(created.filter((c) => c.kind === 4).map((c) => c.id).reverse());
    // Kind 1 is every fifth from 1: 171 and 176 are the two numbered 17x, newest first.
    const some = await search('noir 17', 20);
    expect(some.items.map((i) => i.title)).toEqual(['CAFÉ NOIR 176', 'CAFÉ NOIR 171']);
    expect((await search('espresso', 20)).items).toEqual([]);
  });

  it('trims the spaces around the text', async () => {
    expect((await search('  noir 171  ', 5)).items.map((i) => i.title)).toEqual(['CAFÉ NOIR 171']);
  });

  it('binds a cursor to its search: the plain list\'s cursor, or another text\'s, is 400', async () => {
    const plain = await call(t.api, 'GET', '/conversations?limit=5', { user: USER });
    const cafe = await call(t.api, 'GET', '/conversations?q=cafe&limit=5', { user: USER });
    expect(plain.body.nextCursor).toEqual(expect.any(String));
    expect(cafe.body.nextCursor).toEqual(expect.any(String));
    const cases = [
      `/conversations?q=cafe&limit=5&cursor=${plain.body.nextCursor}`,
      `/conversations?q=vert&limit=5&cursor=${cafe.body.nextCursor}`,
      `/conversations?limit=5&cursor=${cafe.body.nextCursor}`,
    ];
    for (const path of cases) {
      const res = await call(t.api, 'GET', path, { user: USER });
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const next = await call(t.api, 'GET', `/conversations?q=cafe&limit=5&cursor=${cafe.body.nextCursor}`, { user: USER });
    expect(next.status).toBe(200);
    expect(next.body.items).toHaveLength(5);
  });

  it('takes 1 to 200 characters: empty, blank or longer is 400 validation_failed on q', async () => {
    for (const q of ['', '   ', 'x'.repeat(201)]) {
      const res = await call(t.api, 'GET', `/conversations?q=${encodeURIComponent(q)}`, { user: USER });
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'q' })]);
    }
    expect((await call(t.api, 'GET', `/conversations?q=${'x'.repeat(200)}`, { user: USER })).status).toBe(200);
  });

  it('finds conversations stored before titles had a search key, by case at least', async () => {
    const legacy = 'search-legacy-user';
    const id = await newConversation(t.api, legacy, { title: 'placeholder' });
    // As the document looked before 2026-12-02: no titleKey, no titleSource.
    const item = t.container.item(id, legacy);
    const { resource } = await item.read<Record<string, unknown>>();
    const { titleKey: _key, titleSource: _source, ...old } = resource!;
    await item.replace({ ...old, title: 'Legacy CAFÉ Notes' });
    const found = await call(t.api, 'GET', `/conversations?q=${encodeURIComponent('café notes')}`, { user: legacy });
    expect(found.body.items.map((c: Listed) => [c.id, c.titleSource])).toEqual([[id, 'user']]);
    // Accents are folded only in the stored key: the legacy fallback lowers case alone.
    expect((await call(t.api, 'GET', '/conversations?q=cafe', { user: legacy })).body.items).toEqual([]);
    // Any rename writes the key; from then on it is found as every other title.
    await call(t.api, 'PATCH', `/conversations/${id}`, { user: legacy, body: { title: 'Legacy CAFÉ Notes' } });
    expect((await call(t.api, 'GET', '/conversations?q=cafe', { user: legacy })).body.items.map((c: Listed) => c.id)).toEqual([id]);
  });
});
