import { describe, expect, it } from 'vitest';
import type { Conversation, Message } from '../../../src/chat/conversation.js';
import { PLACEHOLDER_TITLE } from '../../../src/chat/conversation.js';
import type { ConversationStore, NewConversation } from '../../../src/chat/ConversationStore.js';
import { NotFoundError, ValidationError } from '../../../src/chat/errors.js';
import { newId } from '../../../src/chat/ids.js';
import { TestClock } from '../clock.js';
import { turnStartAt } from '../turnStart.js';
import type { ConversationStoreFixture } from './conversationStoreContract.js';

let users = 0;

/**
 * The port's title search, title source, auto title and message modification, asserted through the port alone on
 * every adapter (beside `conversationStoreContract.ts`, which holds the rest).
 */
export function describeTitlesSearchFeedbackContract(
  name: string, makeStore: (clock: TestClock) => Promise<ConversationStoreFixture> | ConversationStoreFixture,
): void {
  describe(`ConversationStore contract, titles, search and feedback: ${name}`, () => {
    const clock = new TestClock();
    let fixture: ConversationStoreFixture | undefined;
    const store = async (): Promise<ConversationStore> => (fixture ??= await makeStore(clock)).store;
    const caller = (): string => `contract-tsf-${(users += 1)}-${newId('c').slice(2, 8)}`;

    async function conversation(user: string, fields: Partial<Pick<NewConversation, 'title' | 'titleSource' | 'createdAt'>> = {}): Promise<Conversation> {
      return (await store()).createConversation(user, {
        id: newId('c'), title: fields.title ?? PLACEHOLDER_TITLE, model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: {},
        createdAt: fields.createdAt ?? clock.now().toISOString(), ...('titleSource' in fields ? { titleSource: fields.titleSource } : {}),
      });
    }

    async function searchAll(user: string, titleContains: string, limit: number): Promise<Conversation[]> {
      const s = await store();
      const found: Conversation[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 50; pages += 1) {
        const page = await s.listConversations(user, { limit, cursor, titleContains });
        found.push(...page.items);
        if (!page.nextCursor) return found;
        cursor = page.nextCursor;
      }
      throw new Error('the search never ended');
    }

    it('finds the titles containing the text, case and accents ignored, newest first, page by page', async () => {
      const [user, other] = [caller(), caller()];
      const titles = ['Café au lait', 'Tea time', 'CAFÉ NOIR', 'decaf coffee', 'cafe\u0301 crème', 'Le café', 'Thé'];
      const made: Conversation[] = [];
      for (const [i, title] of titles.entries()) {
        made.push(await conversation(user, { title, titleSource: 'user', createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }));
      }
      await conversation(other, { title: 'Café of another caller', titleSource: 'user' });
      const expected = made.filter((c) => /caf(é|e\u0301|e)/i.test(c.title.normalize('NFC')) && !/decaf/.test(c.title)).reverse();
      expect(expected.map((c) => c.title)).toEqual(['Le café', 'cafe\u0301 crème', 'CAFÉ NOIR', 'Café au lait']);
      for (const q of ['café', 'CAFE', 'Cafe\u0301']) {
        const found = await searchAll(user, q, 2);
        expect(found.map((c) => c.id), q).toEqual(expected.map((c) => c.id));
      }
      expect((await searchAll(user, 'caf', 3)).map((c) => c.title)).toContain('decaf coffee');
      expect(await searchAll(user, 'espresso', 2)).toEqual([]);
    });

    it('binds a cursor to its search: the plain list\'s, or another text\'s, is a ValidationError', async () => {
      const user = caller();
      for (let i = 0; i < 3; i += 1) await conversation(user, { title: `alpha beta ${i}`, titleSource: 'user' });
      const s = await store();
      const plain = await s.listConversations(user, { limit: 1 });
      const alpha = await s.listConversations(user, { limit: 1, titleContains: 'alpha' });
      expect(plain.nextCursor).not.toBeNull();
      expect(alpha.nextCursor).not.toBeNull();
      await expect(s.listConversations(user, { limit: 1, cursor: plain.nextCursor!, titleContains: 'alpha' })).rejects.toBeInstanceOf(ValidationError);
      await expect(s.listConversations(user, { limit: 1, cursor: alpha.nextCursor!, titleContains: 'beta' })).rejects.toBeInstanceOf(ValidationError);
      await expect(s.listConversations(user, { limit: 1, cursor: alpha.nextCursor! })).rejects.toBeInstanceOf(ValidationError);
      expect((await s.listConversations(user, { limit: 5, cursor: alpha.nextCursor!, titleContains: 'alpha' })).items).toHaveLength(2);
    });

    it('knows who named a conversation: the client (user), nobody yet (null), and a rename is the client\'s', async () => {
      const user = caller();
      const s = await store();
      const placeholder = await conversation(user, { titleSource: null });
      expect(placeholder.titleSource).toBeNull();
      expect((await conversation(user, { title: 'Mine', titleSource: 'user' })).titleSource).toBe('user');
      // Written without the field, as documents were before it: a title other than the placeholder was the client's.
      expect((await conversation(user, { title: 'Older' })).titleSource).toBe('user');
      expect((await conversation(user)).titleSource).toBeNull();
      const renamed = await s.updateConversation(user, placeholder.id, { title: 'Renamed', updatedAt: clock.now().toISOString() });
      expect(renamed).toMatchObject({ title: 'Renamed', titleSource: 'user' });
      expect((await s.getConversation(user, placeholder.id))?.titleSource).toBe('user');
      expect((await searchAll(user, 'renamed', 5)).map((c) => c.id)).toEqual([placeholder.id]);
    });

    it('sets an auto title only on a conversation nobody named, once, and leaves updatedAt alone', async () => {
      const user = caller();
      const s = await store();
      const c = await conversation(user, { titleSource: null });
      const titled = await s.setAutoTitle(user, c.id, 'Crêpes sans gluten');
      expect(titled).toMatchObject({ id: c.id, title: 'Crêpes sans gluten', titleSource: 'auto', updatedAt: c.updatedAt });
      expect(titled!.etag).not.toBe(c.etag);
      expect(await s.getConversation(user, c.id)).toEqual(titled);
      expect((await searchAll(user, 'CREPES', 5)).map((x) => x.id)).toEqual([c.id]);
      // Named already (by the model): a second auto title changes nothing.
      expect(await s.setAutoTitle(user, c.id, 'Something else')).toBeNull();
      expect((await s.getConversation(user, c.id))?.title).toBe('Crêpes sans gluten');
      // A client's rename then wins for good.
      await s.updateConversation(user, c.id, { title: 'Mine', updatedAt: clock.now().toISOString() });
      expect(await s.setAutoTitle(user, c.id, 'Again')).toBeNull();
      expect((await s.getConversation(user, c.id))?.title).toBe('Mine');
    });

    it('never replaces a title the client set, even from another instance just before', async () => {
      const user = caller();
      const s = await store();
      const c = await conversation(user, { titleSource: null });
      await s.getConversation(user, c.id); // this instance has read (and may remember) the untitled version
      await fixture!.otherInstance().updateConversation(user, c.id, { title: 'Client title', updatedAt: clock.now().toISOString() });
      expect(await s.setAutoTitle(user, c.id, 'Model title')).toBeNull();
      expect(await s.getConversation(user, c.id)).toMatchObject({ title: 'Client title', titleSource: 'user' });
      expect(await s.setAutoTitle(caller(), c.id, 'Not yours')).toBeNull();
      expect(await s.setAutoTitle(user, newId('c'), 'Nobody')).toBeNull();
    });

    async function withReply(user: string): Promise<{ c: Conversation; reply: Message; userMessage: Message }> {
      const s = await store();
      const c = await conversation(user);
      const begun = await s.beginTurn(user, c, turnStartAt(clock, user, c.id));
      if (!begun.started) throw new Error('turn not started');
      const [userMessage, placeholder] = begun.messages;
      const reply = await s.putMessage({ ...placeholder!, content: 'The reply', status: 'complete', tokenCount: 2 });
      return { c, reply, userMessage: userMessage! };
    }

    it('modifies a message under the version read: the change stored and returned, the rest kept', async () => {
      const user = caller();
      const s = await store();
      const { c, reply } = await withReply(user);
      const feedback = { rating: 'up' as const, comment: null, updatedAt: clock.now().toISOString() };
      const changed = await s.modifyMessage(user, c.id, reply.id, (m) => ({ ...m, feedback }));
      expect(changed).toEqual({ ...reply, feedback });
      expect(await s.getMessage(user, reply.id)).toEqual({ ...reply, feedback });
      const { feedback: _f, ...without } = changed;
      expect(await s.modifyMessage(user, c.id, reply.id, () => without)).toEqual(reply);
      expect(await s.getMessage(user, reply.id)).toEqual(reply);
    });

    it('writes nothing when the change throws, and loses neither of two concurrent changes', async () => {
      const user = caller();
      const s = await store();
      const { c, reply } = await withReply(user);
      await expect(s.modifyMessage(user, c.id, reply.id, () => { throw new ValidationError('no'); })).rejects.toBeInstanceOf(ValidationError);
      expect(await s.getMessage(user, reply.id)).toEqual(reply);
      const feedback = { rating: 'down' as const, comment: 'x', updatedAt: clock.now().toISOString() };
      const other = fixture!.otherInstance();
      await Promise.all([
        s.modifyMessage(user, c.id, reply.id, (m) => ({ ...m, feedback })),
        other.modifyMessage(user, c.id, reply.id, (m) => ({ ...m, content: 'The reply, edited' })),
      ]);
      expect(await s.getMessage(user, reply.id)).toEqual({ ...reply, feedback, content: 'The reply, edited' });
    });

    it('modifies only a message of that conversation and caller: otherwise NotFoundError, nothing written', async () => {
      const user = caller();
      const s = await store();
      const { c, reply } = await withReply(user);
      const elsewhere = await conversation(user);
      const touch = (m: Message): Message => ({ ...m, content: 'touched' });
      await expect(s.modifyMessage(user, elsewhere.id, reply.id, touch)).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.modifyMessage(caller(), c.id, reply.id, touch)).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.modifyMessage(user, c.id, 'm_nothing_here', touch)).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.getMessage(user, reply.id)).toEqual(reply);
    });
  });
}
