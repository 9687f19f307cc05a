import { describe, expect, it } from 'vitest';
import type { ConversationStore, TurnOutcome, TurnStart } from '../../../src/chat/ConversationStore.js';
import type { Conversation, Message } from '../../../src/chat/conversation.js';
import { NotFoundError, PreconditionFailedError, ValidationError } from '../../../src/chat/errors.js';
import { newId } from '../../../src/chat/ids.js';
import { linePath } from '../../../src/chat/BranchPath.js';
import { TestClock } from '../clock.js';
import { turnStartAt } from '../turnStart.js';

export interface ConversationStoreFixture {
  readonly store: ConversationStore;
  /** Another instance of the service over the same data (its own memory, if the adapter keeps any). */
  readonly otherInstance: () => ConversationStore;
}

const ZERO = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
let users = 0;

/**
 * The `ConversationStore` port's promises, asserted through the port alone, so every adapter (Cosmos, the
 * in-memory one of the core's unit tests) is held to the same ones. `makeStore` gets the clock the store must read
 * lock expiry, tombstones and idempotency windows from; each test uses its own caller.
 */
export function describeConversationStoreContract(name: string, makeStore: (clock: TestClock) => Promise<ConversationStoreFixture> | ConversationStoreFixture): void {
  describe(`ConversationStore contract: ${name}`, () => {
    const clock = new TestClock();
    let fixture: ConversationStoreFixture | undefined;
    const store = async (): Promise<ConversationStore> => (fixture ??= await makeStore(clock)).store;
    const caller = (): string => `contract-${(users += 1)}-${newId('c').slice(2, 8)}`;

    async function conversation(user: string, fields: { title?: string; updatedAt?: string } = {}): Promise<Conversation> {
      const s = await store();
      const created = await s.createConversation(user, {
        id: newId('c'), title: fields.title ?? 't', model: 'phi-3.5-mini-instruct', systemPrompt: null, settings: { temperature: 0.5 },
        createdAt: fields.updatedAt ?? clock.now().toISOString(),
      });
      return created;
    }

    const turnStart = (user: string, conversationId: string, key?: string, lockMs?: number): TurnStart =>
      turnStartAt(clock, user, conversationId, key, lockMs);

    /** A caller of its own, a conversation of theirs, the store. */
    async function fresh(): Promise<{ user: string; c: Conversation; s: ConversationStore }> {
      const user = caller();
      return { user, c: await conversation(user), s: await store() };
    }

    async function started(user: string, c: Pick<Conversation, 'id' | 'etag'>, start: TurnStart): Promise<readonly Message[]> {
      const begun = await (await store()).beginTurn(user, c, start);
      if (!begun.started) throw new Error(`turn not started: ${begun.reason}`);
      return begun.messages;
    }

    async function allMessages(user: string, conversationId: string): Promise<Message[]> {
      return [...(await (await store()).listMessages(user, conversationId, { limit: 100, order: 'asc' })).items];
    }

    function message(user: string, conversationId: string, seq: number, fields: Partial<Message> = {}): Message {
      return {
        id: `m_${conversationId.slice(2)}_${seq}`, conversationId, userId: user, role: seq % 2 ? 'user' : 'assistant',
        content: `message ${seq}`, status: 'complete', createdAt: clock.now().toISOString(), tokenCount: 3, seq, turnId: 't_x', ...fields,
      };
    }

    it('returns a created conversation with empty totals and an etag, to its owner only', async () => {
      const [user, other] = [caller(), caller()];
      const c = await conversation(user, { title: 'hello' });
      expect(c).toMatchObject({ userId: user, title: 'hello', messageCount: 0, usage: ZERO, lastSeq: 0, activeTurn: null });
      expect(c.etag).not.toBe('');
      expect(await (await store()).getConversation(user, c.id)).toEqual(c);
      expect(await (await store()).getConversation(other, c.id)).toBeNull();
      expect(await (await store()).getConversation(user, newId('c'))).toBeNull();
    });

    it('lists the caller\'s conversations newest first, page by page with cursors, and refuses a cursor of another list', async () => {
      const [user, other] = [caller(), caller()];
      const base = Date.parse('2026-03-01T00:00:00Z');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push((await conversation(user, { updatedAt: new Date(base + i * 1000).toISOString() })).id);
      await conversation(other);
      const s = await store();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.listConversations(user, { limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen).toEqual([...ids].reverse());
      const first = await s.listConversations(user, { limit: 2 });
      expect(first.nextCursor).not.toBeNull();
      await expect(s.listConversations(other, { limit: 2, cursor: first.nextCursor! })).rejects.toThrow(ValidationError);
      await expect(s.listConversations(user, { limit: 2, cursor: 'not-a-cursor' })).rejects.toThrow(ValidationError);
      await expect(s.listConversations(user, { limit: 2, cursor: 'eyJjIjoieCIsInMiOiJ5In0' })).rejects.toThrow(ValidationError);
    });

    it('merges settings on update, gives a new etag, and honours If-Match: stale is refused and changes nothing', async () => {
      const { user, c, s } = await fresh();
      const renamed = await s.updateConversation(user, c.id, { title: 'one', settings: { topP: 0.9 }, updatedAt: clock.now().toISOString() }, c.etag);
      expect(renamed).toMatchObject({ title: 'one', settings: { temperature: 0.5, topP: 0.9 } });
      expect(renamed.etag).not.toBe(c.etag);
      await expect(s.updateConversation(user, c.id, { title: 'two', updatedAt: clock.now().toISOString() }, c.etag)).rejects.toThrow(PreconditionFailedError);
      expect((await s.getConversation(user, c.id))?.title).toBe('one');
      expect((await s.updateConversation(user, c.id, { systemPrompt: 'be brief', updatedAt: clock.now().toISOString() }, '*')).systemPrompt).toBe('be brief');
      expect((await s.updateConversation(user, c.id, { title: 'three', updatedAt: clock.now().toISOString() })).title).toBe('three');
      await expect(s.updateConversation(caller(), c.id, { title: 'x', updatedAt: clock.now().toISOString() })).rejects.toThrow(NotFoundError);
    });

    it('starts a turn in one step: the lock, the messages numbered after the last, the idempotency record', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id, 'k1');
      const begun = await s.beginTurn(user, c, start);
      if (!begun.started) throw new Error(begun.reason);
      expect(begun.conversation.activeTurn).toEqual(start.turn);
      expect(begun.conversation.lastSeq).toBe(2);
      expect(begun.messages.map((m) => [m.role, m.seq])).toEqual([['user', 1], ['assistant', 2]]);
      expect(await s.getIdempotencyRecord(user, c.id, 'k1')).toEqual(start.idempotency);
      expect(await s.getIdempotencyRecord(user, c.id, 'k2')).toBeNull();
      expect((await allMessages(user, c.id)).map((m) => m.id)).toEqual(start.messages.map((m) => m.id));
      expect(await s.getMessage(user, start.messages[0]!.id)).toEqual(begun.messages[0]);
      expect(await s.getMessage(caller(), start.messages[0]!.id)).toBeNull();
    });

    it('adds a finished turn to the totals once however often it is finished, and frees the lock', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id);
      await started(user, c, start);
      const outcome = { turnId: start.turn.turnId, usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, messagesAdded: 2, updatedAt: clock.now().toISOString() };
      await s.finishTurn(user, c.id, outcome);
      await s.finishTurn(user, c.id, outcome);
      expect(await s.getConversation(user, c.id)).toMatchObject({ activeTurn: null, messageCount: 2, usage: { totalTokens: 7 }, lastSeq: 2 });
      const next = await started(user, (await s.getConversation(user, c.id))!, turnStart(user, c.id));
      expect(next.map((m) => m.seq)).toEqual([3, 4]);
    });

    it('lets one of two racing turns in; the loser leaves no record and no message', async () => {
      const { user, c, s } = await fresh();
      const [a, b] = [turnStart(user, c.id, 'ka'), turnStart(user, c.id, 'kb')];
      const results = await Promise.all([s.beginTurn(user, c, a), s.beginTurn(user, c, b)]);
      expect(results.map((r) => r.started).sort()).toEqual([false, true]);
      const winner = results[0]!.started ? a : b;
      const loser = winner === a ? b : a;
      expect(results.find((r) => !r.started)).toEqual({ started: false, reason: 'locked' });
      expect((await allMessages(user, c.id)).map((m) => m.turnId)).toEqual([winner.turn.turnId, winner.turn.turnId]);
      expect(await s.getIdempotencyRecord(user, c.id, loser.idempotency!.key)).toBeNull();
      expect((await s.getConversation(user, c.id))?.activeTurn?.turnId).toBe(winner.turn.turnId);
    });

    it('lets one of two racing turns with the same key in; the other is refused (locked or key taken) and writes nothing', async () => {
      const { user, c, s } = await fresh();
      const [a, b] = [turnStart(user, c.id, 'same'), turnStart(user, c.id, 'same')];
      const results = await Promise.all([s.beginTurn(user, c, a), s.beginTurn(user, c, b)]);
      const refused = results.find((r) => !r.started);
      expect(results.filter((r) => r.started)).toHaveLength(1);
      expect(refused && !refused.started && ['locked', 'key_taken'].includes(refused.reason)).toBe(true);
      const winner = results[0]!.started ? a : b;
      expect((await allMessages(user, c.id)).map((m) => m.turnId)).toEqual([winner.turn.turnId, winner.turn.turnId]);
      expect((await s.getIdempotencyRecord(user, c.id, 'same'))?.turnId).toBe(winner.turn.turnId);
    });

    it('refuses a key another turn holds even once that turn has finished, for 24 hours', async () => {
      const { user, c, s } = await fresh();
      const first = turnStart(user, c.id, 'held');
      await started(user, c, first);
      await s.finishTurn(user, c.id, { turnId: first.turn.turnId, usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() });
      clock.advance(23 * 60 * 60 * 1000);
      expect(await s.beginTurn(user, (await s.getConversation(user, c.id))!, turnStart(user, c.id, 'held'))).toEqual({ started: false, reason: 'key_taken' });
      expect((await s.getIdempotencyRecord(user, c.id, 'held'))?.turnId).toBe(first.turn.turnId);
      expect(await allMessages(user, c.id)).toHaveLength(2);
    });

    it('reads again when another instance changed the conversation since this one read it, and keeps that change', async () => {
      const { user, c, s } = await fresh();
      await s.getConversation(user, c.id);
      await fixture!.otherInstance().updateConversation(user, c.id, { title: 'renamed', updatedAt: clock.now().toISOString() });
      // The caller still holds the version before the rename, and so may this instance's memory.
      const begun = await s.beginTurn(user, c, turnStart(user, c.id));
      expect(begun.started && begun.conversation.title).toBe('renamed');
      const now = await s.getConversation(user, c.id);
      expect(now?.title).toBe('renamed');
      expect(now?.lastSeq).toBe(2);
    });

    it('answers stale to a start planned on an older version, and writes nothing; planned on the current one, it starts', async () => {
      const { user, c, s } = await fresh();
      const first = turnStart(user, c.id);
      await started(user, c, first);
      await s.finishTurn(user, c.id, { turnId: first.turn.turnId, usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() });
      const planned = (await s.getConversation(user, c.id))!;
      // What a turn plans on when the adapter offers it: then it is what reads return.
      const view = s.rememberedTurnView(user, c.id, 100);
      if (view) {
        expect(view.conversation).toEqual(planned);
        expect(view.newestPage).toEqual(await s.recentMessages(user, c.id, { limit: 100 }));
      }
      await fixture!.otherInstance().updateConversation(user, c.id, { systemPrompt: 'changed elsewhere', updatedAt: clock.now().toISOString() });
      const stale = await s.beginTurn(user, planned, { ...turnStart(user, c.id, 'k-stale'), planned: 'remembered' });
      expect(stale).toEqual({ started: false, reason: 'stale' });
      expect(await allMessages(user, c.id)).toHaveLength(2);
      expect(await s.getIdempotencyRecord(user, c.id, 'k-stale')).toBeNull();
      const current = (await s.getConversation(user, c.id))!;
      expect(current.activeTurn).toBeNull();
      const messages = await started(user, current, { ...turnStart(user, c.id), planned: 'remembered' });
      expect(messages.map((m) => m.seq)).toEqual([3, 4]);
    });

    it('finishes a turn over a conversation another instance changed during it: the change kept, the lock freed', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id);
      expect((await s.beginTurn(user, c, start)).started).toBe(true);
      const other = fixture!.otherInstance();
      await other.updateConversation(user, c.id, { title: 'renamed mid-turn', updatedAt: clock.now().toISOString() });
      await s.finishTurn(user, c.id, { turnId: start.turn.turnId, usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, messagesAdded: 2, updatedAt: clock.now().toISOString() });
      const now = await other.getConversation(user, c.id);
      expect(now).toMatchObject({ title: 'renamed mid-turn', activeTurn: null, messageCount: 2, usage: { totalTokens: 7 } });
    });

    /** A settle offered the turn's finish, as the core does it: finishTurn only when the settle did not finish. */
    async function settleAndFinish(s: ConversationStore, reply: Message, outcome: TurnOutcome): Promise<void> {
      if (!(await s.settleMessage(reply, null, outcome))) await s.finishTurn(reply.userId, reply.conversationId, outcome);
    }

    it('settles a reply offered its finish: the reply stored, the lock freed, the turn counted once however often it is retried', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id);
      const placeholder = (await started(user, c, start))[1]!;
      const outcome = { turnId: start.turn.turnId, usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, messagesAdded: 2, updatedAt: clock.now().toISOString() };
      const reply: Message = { ...placeholder, content: 'the reply', status: 'complete', finishReason: 'stop', tokenCount: 2 };
      await settleAndFinish(s, reply, outcome);
      // A retry after an answer that was lost.
      await settleAndFinish(s, reply, outcome);
      const other = fixture!.otherInstance();
      expect(await other.getConversation(user, c.id)).toMatchObject({ activeTurn: null, messageCount: 2, usage: { totalTokens: 7 }, lastSeq: 2 });
      expect(await other.getMessage(user, reply.id)).toMatchObject({ content: 'the reply', status: 'complete', finishReason: 'stop' });
    });

    it('settles a reply offered its finish over a conversation another instance changed during the turn: the change kept', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id);
      const placeholder = (await started(user, c, start))[1]!;
      const other = fixture!.otherInstance();
      await other.updateConversation(user, c.id, { title: 'renamed mid-turn', updatedAt: clock.now().toISOString() });
      const outcome = { turnId: start.turn.turnId, usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 }, messagesAdded: 2, updatedAt: clock.now().toISOString() };
      await settleAndFinish(s, { ...placeholder, content: 'the reply', status: 'complete', finishReason: 'stop' }, outcome);
      expect(await other.getConversation(user, c.id)).toMatchObject({ title: 'renamed mid-turn', activeTurn: null, messageCount: 2, usage: { totalTokens: 7 } });
      expect((await other.getMessage(user, placeholder.id))?.content).toBe('the reply');
    });

    it('refuses a turn whose caller read the conversation before another instance locked it, and writes nothing of it', async () => {
      const { user, c, s } = await fresh();
      // This instance has just read the version the caller holds; the other one then takes the lock.
      const read = (await s.getConversation(user, c.id))!;
      const other = turnStart(user, c.id);
      expect((await fixture!.otherInstance().beginTurn(user, read, other)).started).toBe(true);
      const late = turnStart(user, c.id, 'late-key');
      expect(await s.beginTurn(user, read, late)).toEqual({ started: false, reason: 'locked' });
      expect((await allMessages(user, c.id)).map((m) => m.turnId)).toEqual([other.turn.turnId, other.turn.turnId]);
      expect(await s.getIdempotencyRecord(user, c.id, 'late-key')).toBeNull();
      expect((await s.getConversation(user, c.id))?.activeTurn).toEqual(other.turn);
    });

    it('counts a lost turn once when it finishes late on its own instance after another took over its lock, and keeps the new lock', async () => {
      const { user, c, s } = await fresh();
      const lost = turnStart(user, c.id, undefined, 1_000);
      expect((await s.beginTurn(user, c, lost)).started).toBe(true);
      clock.advance(2_000);
      const other = fixture!.otherInstance();
      const next = turnStart(user, c.id);
      expect((await other.beginTurn(user, (await other.getConversation(user, c.id))!, next)).started).toBe(true);
      const outcome = { turnId: lost.turn.turnId, usage: { promptTokens: 2, completionTokens: 3, totalTokens: 5 }, messagesAdded: 2, updatedAt: clock.now().toISOString() };
      await s.finishTurn(user, c.id, outcome);
      await s.finishTurn(user, c.id, outcome);
      expect(await other.getConversation(user, c.id)).toMatchObject({ activeTurn: next.turn, messageCount: 2, usage: { totalTokens: 5 }, lastSeq: 4 });
    });

    it('finishes a turn of a conversation that is gone (deleted with no turn holding it, or never there) without writing anything', async () => {
      const { user, c, s } = await fresh();
      expect(await s.deleteConversation(user, c.id)).toBe(true);
      const outcome = { turnId: newId('t'), usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() };
      await expect(s.finishTurn(user, c.id, outcome)).resolves.toBeUndefined();
      await expect(s.finishTurn(user, newId('c'), outcome)).resolves.toBeUndefined();
      expect(await s.getConversation(user, c.id)).toBeNull();
      expect((await s.listConversations(user, { limit: 10 })).items).toEqual([]);
    });

    it('takes over a lock whose turn has expired, but not a live one; the late finish of the lost turn leaves the new lock', async () => {
      const { user, c, s } = await fresh();
      const lost = turnStart(user, c.id, undefined, 1_000);
      expect((await s.beginTurn(user, c, lost)).started).toBe(true);
      const held = await s.beginTurn(user, (await s.getConversation(user, c.id))!, turnStart(user, c.id));
      expect(held).toEqual({ started: false, reason: 'locked' });
      clock.advance(2_000);
      const next = turnStart(user, c.id);
      const taken = await s.beginTurn(user, (await s.getConversation(user, c.id))!, next);
      expect(taken.started && taken.messages.map((m) => m.seq)).toEqual([3, 4]);
      await s.finishTurn(user, c.id, { turnId: lost.turn.turnId, usage: ZERO, messagesAdded: 1, updatedAt: clock.now().toISOString() });
      expect((await s.getConversation(user, c.id))?.activeTurn).toEqual(next.turn);
    });

    it('lets a key whose record is past its 24 hours start a new turn', async () => {
      const { user, c, s } = await fresh();
      const old = await s.beginTurn(user, c, turnStart(user, c.id, 'old-key', 1_000));
      expect(old.started).toBe(true);
      clock.advance(25 * 60 * 60 * 1000);
      expect(await s.getIdempotencyRecord(user, c.id, 'old-key')).toBeNull();
      const start = turnStart(user, c.id, 'old-key');
      const again = await s.beginTurn(user, (await s.getConversation(user, c.id))!, start);
      expect(again.started).toBe(true);
      expect((await s.getIdempotencyRecord(user, c.id, 'old-key'))?.turnId).toBe(start.turn.turnId);
    });

    it('discards what a turn wrote, and its own idempotency record but never another turn\'s', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id, 'kd');
      await started(user, c, start);
      await s.discardTurn(user, c.id, { turnId: newId('t'), messageIds: [], idempotencyKey: 'kd' });
      expect((await s.getIdempotencyRecord(user, c.id, 'kd'))?.turnId).toBe(start.turn.turnId);
      const ids = start.messages.map((m) => m.id);
      await s.discardTurn(user, c.id, { turnId: start.turn.turnId, messageIds: [...ids, 'm_absent'], idempotencyKey: 'kd' });
      expect(await s.getIdempotencyRecord(user, c.id, 'kd')).toBeNull();
      expect(await allMessages(user, c.id)).toEqual([]);
      expect(await s.getMessage(user, ids[0]!)).toBeNull();
    });

    it('pages messages in either order with cursors bound to their list, and overwrites a message put again', async () => {
      const { user, c, s } = await fresh();
      for (let seq = 1; seq <= 5; seq += 1) await s.putMessage(message(user, c.id, seq));
      const updated = await s.putMessage({ ...message(user, c.id, 2), content: 'rewritten' });
      expect(updated.content).toBe('rewritten');
      const walk = async (order: 'asc' | 'desc'): Promise<number[]> => {
        const seqs: number[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages += 1) {
          const page = await s.listMessages(user, c.id, { limit: 2, order, ...(cursor ? { cursor } : {}) });
          seqs.push(...page.items.map((m) => m.seq));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        return seqs;
      };
      expect(await walk('asc')).toEqual([1, 2, 3, 4, 5]);
      expect(await walk('desc')).toEqual([5, 4, 3, 2, 1]);
      expect((await allMessages(user, c.id))[1]?.content).toBe('rewritten');
      const recent = await s.recentMessages(user, c.id, { limit: 3 });
      expect(recent.items.map((m) => m.seq)).toEqual([5, 4, 3]);
      expect((await s.recentMessages(user, c.id, { limit: 3, cursor: recent.nextCursor! })).items.map((m) => m.seq)).toEqual([2, 1]);
      const asc = await s.listMessages(user, c.id, { limit: 2, order: 'asc' });
      await expect(s.listMessages(user, c.id, { limit: 2, order: 'desc', cursor: asc.nextCursor! })).rejects.toThrow(ValidationError);
      await expect(s.recentMessages(user, newId('c'), { limit: 2, cursor: recent.nextCursor! })).rejects.toThrow(ValidationError);
      await expect(s.listMessages(user, c.id, { limit: 2, order: 'asc', cursor: '%%%' })).rejects.toThrow(ValidationError);
      await expect(s.listMessages(caller(), c.id, { limit: 2, order: 'asc' })).rejects.toThrow(NotFoundError);
    });

    it('counts the messages below a number that would be sent to the model', async () => {
      const { user, c, s } = await fresh();
      const fields: Partial<Message>[] = [{}, { status: 'failed', content: 'x' }, { content: '   ' }, { status: 'incomplete', content: 'half' }, { status: 'filtered', content: '' }, {}];
      for (const [i, f] of fields.entries()) await s.putMessage(message(user, c.id, i + 1, f));
      expect(await s.countSendableOnPath(user, c.id, linePath(6), 7)).toBe(3);
      expect(await s.countSendableOnPath(user, c.id, linePath(6), 4)).toBe(1);
      expect(await s.countSendableOnPath(user, c.id, linePath(6), 1)).toBe(0);
      expect(await s.countSendableOnPath(caller(), c.id, linePath(6), 7)).toBe(0);
    });

    it('hides a deleted conversation from every read and write at once, and removes its messages and records', async () => {
      const { user, c, s } = await fresh();
      const start = turnStart(user, c.id, 'kdel', -1_000);
      await started(user, c, start);
      expect(await s.deleteConversation(caller(), c.id)).toBe(false);
      expect(await s.deleteConversation(user, c.id)).toBe(true);
      expect(await s.getConversation(user, c.id)).toBeNull();
      expect((await s.listConversations(user, { limit: 10 })).items).toEqual([]);
      await expect(s.listMessages(user, c.id, { limit: 10, order: 'asc' })).rejects.toThrow(NotFoundError);
      await expect(s.updateConversation(user, c.id, { title: 'x', updatedAt: clock.now().toISOString() })).rejects.toThrow(NotFoundError);
      await expect(s.beginTurn(user, c, turnStart(user, c.id))).rejects.toThrow(NotFoundError);
      expect(await s.getMessage(user, start.messages[0]!.id)).toBeNull();
      expect(await s.getIdempotencyRecord(user, c.id, 'kdel')).toBeNull();
      expect(await s.deleteConversation(user, c.id)).toBe(false);
    });

    it('keeps a deleted conversation a turn still holds as a tombstone; the turn\'s finish, or a sweep after the lock, ends it', async () => {
      const user = caller();
      const s = await store();
      const [a, b] = [await conversation(user), await conversation(user)];
      const [startA, startB] = [turnStart(user, a.id, undefined, 60_000), turnStart(user, b.id, undefined, 60_000)];
      await started(user, a, startA);
      await started(user, b, startB);
      expect(await s.deleteConversation(user, a.id)).toBe(true);
      expect(await s.deleteConversation(user, b.id)).toBe(true);
      expect(await s.getConversation(user, a.id)).toBeNull();
      // The running turns write their replies after the purge (and after a sweep while their locks are live).
      await s.sweepDeleted();
      const late = (start: TurnStart): Message => ({ ...(start.messages[1]!), seq: 2, content: 'late', status: 'complete' });
      await s.putMessage(late(startA));
      await s.putMessage(late(startB));
      await s.finishTurn(user, a.id, { turnId: startA.turn.turnId, usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() });
      expect(await s.getMessage(user, startA.messages[1]!.id)).toBeNull();
      expect(await s.getMessage(user, startB.messages[1]!.id)).toMatchObject({ content: 'late' });
      clock.advance(61_000);
      expect(await s.sweepDeleted()).toBeGreaterThanOrEqual(1);
      expect(await s.getMessage(user, startB.messages[1]!.id)).toBeNull();
      expect(await s.getConversation(user, b.id)).toBeNull();
      expect(await s.deleteConversation(user, b.id)).toBe(false);
    });

    it('a turn that cannot start on a deleted conversation gets NotFound', async () => {
      const { user, c, s } = await fresh();
      await s.deleteConversation(user, c.id);
      await expect(s.beginTurn(user, { id: c.id, etag: '' }, { turn: { turnId: newId('t'), expiresAt: clock.now().toISOString() }, messages: [] }))
        .rejects.toThrow(NotFoundError);
    });

    /** A turn start whose two messages lie in `lane` after `parentId`, as the core places them. */
    function placed(start: TurnStart, parentId: string | null, lane: Pick<Message, 'branch' | 'forks'>, extra: Partial<TurnStart> = {}): TurnStart {
      const [u, a] = start.messages as [Omit<Message, 'seq'>, Omit<Message, 'seq'>];
      return { ...start, ...extra, messages: [{ ...u, parentId, ...lane }, { ...a, content: 'reply', status: 'complete', parentId: u.id, ...lane }] };
    }

    it('keeps the tree: the active leaf and its lanes, one query per path, siblings, lanes and their forks, the original lane\'s neighbours', async () => {
      const { user, c, s } = await fresh();
      const finish = (turnId: string) => s.finishTurn(user, c.id, { turnId, usage: ZERO, messagesAdded: 2, updatedAt: clock.now().toISOString() });
      const first = placed(turnStart(user, c.id), null, {});
      const [u1, a1] = await started(user, c, first) as [Message, Message];
      expect(await s.getConversation(user, c.id)).toMatchObject({ activeLeafId: a1.id, activePath: [{ branch: null, untilSeq: 2 }] });
      await finish(first.turn.turnId);
      // Planned against an older version: refused as locked, nothing written.
      const stale = placed(turnStart(user, c.id), a1.id, {}, { expectedLastSeq: 0 });
      expect(await s.beginTurn(user, await s.getConversation(user, c.id) as Conversation, stale)).toEqual({ started: false, reason: 'locked' });
      const u2Id = turnStart(user, c.id);
      const laneId = u2Id.messages[0]!.id;
      const lane = { branch: laneId, forks: [{ branch: null, untilSeq: 2 }] };
      const edit = placed(u2Id, a1.id, lane, { expectedLastSeq: 2, adopt: { ...u1, content: 'adopted' } });
      const [u2, a2] = await started(user, await s.getConversation(user, c.id) as Conversation, edit) as [Message, Message];
      expect((await s.getMessage(user, u1.id))?.content).toBe('adopted');
      await finish(edit.turn.turnId);
      const next = placed(turnStart(user, c.id), a2.id, lane);
      const [u3, a3] = await started(user, await s.getConversation(user, c.id) as Conversation, next) as [Message, Message];
      await finish(next.turn.turnId);
      const rootStart = turnStart(user, c.id);
      const root = placed(rootStart, null, { branch: rootStart.messages[0]!.id, forks: [] });
      const [u4] = await started(user, await s.getConversation(user, c.id) as Conversation, root) as [Message, Message];
      expect((await s.getConversation(user, c.id))?.activePath).toEqual([{ branch: rootStart.messages[0]!.id, untilSeq: 8 }]);

      const path = { lanes: [{ branch: null, untilSeq: 2 }, { branch: laneId, untilSeq: a3.seq }] };
      const desc = await s.pathMessages(user, c.id, path, { limit: 100, order: 'desc' });
      expect(desc.items.map((m) => m.id)).toEqual([a3.id, u3.id, a2.id, u2.id, a1.id, u1.id]);
      const paged = await s.pathMessages(user, c.id, path, { limit: 4, order: 'asc' });
      expect(paged.items.map((m) => m.id)).toEqual([u1.id, a1.id, u2.id, a2.id]);
      const rest = await s.pathMessages(user, c.id, path, { limit: 4, order: 'asc', cursor: paged.nextCursor ?? 'none' });
      expect(rest.items.map((m) => m.id)).toEqual([u3.id, a3.id]);
      await expect(s.pathMessages(user, c.id, { lanes: [{ branch: null, untilSeq: 8 }] }, { limit: 4, order: 'asc', cursor: paged.nextCursor ?? 'none' })).rejects.toThrow(ValidationError);
      expect((await s.pathMessages(user, c.id, { ...path, beforeSeq: u3.seq }, { limit: 100, order: 'asc' })).items.map((m) => m.id)).toEqual([u1.id, a1.id, u2.id, a2.id]);
      expect((await s.pathMessages(user, c.id, { lanes: [] }, { limit: 10, order: 'asc' })).items).toEqual([]);
      expect(await s.countSendableOnPath(user, c.id, path, a3.seq)).toBe(5);
      expect(await s.countSendableOnPath(user, c.id, path, u2.seq)).toBe(2);

      const children = await s.childrenOf(user, c.id, [a1.id, null]);
      expect([...children].sort((x, y) => x.seq - y.seq)).toEqual([
        { id: u1.id, parentId: null, seq: 1 }, { id: u2.id, parentId: a1.id, seq: 3 }, { id: u4.id, parentId: null, seq: 7 },
      ]);
      expect(await s.childrenOf(caller(), c.id, [a1.id, null])).toEqual([]);
      expect((await s.originalLaneNeighbour(user, c.id, 2, 'before'))?.id).toBe(u1.id);
      expect((await s.originalLaneNeighbour(user, c.id, 0, 'after'))?.id).toBe(u1.id);
      expect(await s.originalLaneNeighbour(user, c.id, 2, 'after')).toBeNull();

      const original = await s.readLane(user, c.id, null, 1);
      expect([...original.members].sort((x, y) => x.seq - y.seq)).toEqual([{ id: u1.id, seq: 1 }, { id: a1.id, seq: 2 }]);
      expect(original.roots).toEqual([{ id: u2.id, seq: 3, branch: laneId, forks: lane.forks, forkSeq: 2 }]);
      expect((await s.readLane(user, c.id, null, 3)).roots).toEqual([]);
      const forked = await s.readLane(user, c.id, laneId, a2.seq);
      expect([...forked.members].map((m) => m.id).sort()).toEqual([a2.id, u3.id, a3.id].sort());
      expect(forked.roots).toEqual([]);

      const switched = await s.updateConversation(user, c.id, { activeLeaf: { id: a3.id, path: path.lanes }, updatedAt: clock.now().toISOString() });
      expect(switched).toMatchObject({ activeLeafId: a3.id, activePath: path.lanes });
    });

    it('answers a ping', async () => {
      await expect((await store()).ping()).resolves.toBeUndefined();
    });
  });
}
