import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import type { ConversationStore } from '../../src/chat/ConversationStore.js';
import { LEASE_TIMING } from '../../src/chat/leaseTiming.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/** PUT / DELETE /api/conversations/{id}/messages/{messageId}/feedback, over real sockets. */

let t: TestApp;
const USER = 'feedback-user';

interface Turn { conversationId: string; userMessageId: string; assistantMessageId: string }

async function turn(conversationId: string, content = 'Hello'): Promise<Turn> {
  const res = await call(t.api, 'POST', `/conversations/${conversationId}/messages`, {
    user: USER, body: { content }, headers: { accept: 'application/json' },
  });
  expect(res.status, res.raw).toBe(201);
  return { conversationId, userMessageId: res.body.userMessage.id, assistantMessageId: res.body.assistantMessage.id };
}

const feedbackPath = (c: string, m: string) => `/conversations/${c}/messages/${m}/feedback`;
const put = (c: string, m: string, body: unknown, user = USER) => call(t.api, 'PUT', feedbackPath(c, m), { user, body });
const remove = (c: string, m: string, user = USER) => call(t.api, 'DELETE', feedbackPath(c, m), { user });

async function storedMessage(id: string): Promise<Record<string, unknown>> {
  const { resource } = await t.container.item(id, USER).read<Record<string, unknown>>();
  return resource!;
}

async function listed(conversationId: string): Promise<Record<string, unknown>[]> {
  return (await call(t.api, 'GET', `/conversations/${conversationId}/messages`, { user: USER })).body.items;
}

let first: Turn;

beforeAll(async () => {
  t = await startTestApp();
  first = await turn(await newConversation(t.api, USER));
});
afterAll(() => t?.close());

describe('feedback on a reply', () => {
  it('PUT stores the rating and comment on the message and answers the message with them', async () => {
    const before = t.clock.now().toISOString();
    const res = await put(first.conversationId, first.assistantMessageId, { rating: 'up', comment: 'Spot on, merci ✓' });
    expect(res.status, res.raw).toBe(200);
    expect(res.body).toMatchObject({ id: first.assistantMessageId, role: 'assistant', status: 'complete' });
    expect(res.body.feedback).toEqual({ rating: 'up', comment: 'Spot on, merci ✓', updatedAt: expect.any(String) });
    expect(res.body.feedback.updatedAt >= before).toBe(true);
    // Stored on the message document itself, and served by the message list.
    expect((await storedMessage(first.assistantMessageId)).feedback).toEqual(res.body.feedback);
    const items = await listed(first.conversationId);
    expect(items.find((m) => m.id === first.assistantMessageId)?.feedback).toEqual(res.body.feedback);
    expect(items.find((m) => m.id === first.userMessageId)).not.toHaveProperty('feedback');
  });

  it('a second PUT replaces it; without a comment the comment is null; the rest of the message is untouched', async () => {
    const message = await storedMessage(first.assistantMessageId);
    const res = await put(first.conversationId, first.assistantMessageId, { rating: 'down' });
    expect(res.status).toBe(200);
    expect(res.body.feedback).toMatchObject({ rating: 'down', comment: null });
    const after = await storedMessage(first.assistantMessageId);
    for (const field of ['content', 'status', 'usage', 'tokenCount', 'seq', 'context', 'turnId', 'sendable']) {
      expect(after[field], field).toEqual(message[field]);
    }
  });

  it('DELETE answers 204 and the message has no feedback; a second DELETE is 204 too', async () => {
    const res = await remove(first.conversationId, first.assistantMessageId);
    expect(res.status).toBe(204);
    expect(res.raw).toBe('');
    expect(await storedMessage(first.assistantMessageId)).not.toHaveProperty('feedback');
    expect((await listed(first.conversationId)).find((m) => m.id === first.assistantMessageId)).not.toHaveProperty('feedback');
    expect((await remove(first.conversationId, first.assistantMessageId)).status).toBe(204);
  });

  it('is for assistant messages only: a user message is 400 validation_failed on messageId', async () => {
    const res = await put(first.conversationId, first.userMessageId, { rating: 'up' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'messageId' }] });
    expect(await storedMessage(first.userMessageId)).not.toHaveProperty('feedback');
  });

  it('an unknown message, or a message of another of the caller\'s conversations, is 404', async () => {
    const other = await newConversation(t.api, USER);
    for (const [c, m] of [[first.conversationId, 'm_AAAAAAAAAAAAAAAAAAAAAa'], [other, first.assistantMessageId], [first.conversationId, 'not-a-message']]) {
      const res = await put(c!, m!, { rating: 'up' });
      expect(res.status, `${c} ${m}`).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect(await storedMessage(first.assistantMessageId)).not.toHaveProperty('feedback');
  });

  it('refuses a reply still streaming with 409 conversation_busy: its turn would overwrite the feedback', async () => {
    const { conversationId, assistantMessageId } = await turn(await newConversation(t.api, USER));
    // The state a running turn's placeholder is in: streaming, its lease ahead.
    const item = t.container.item(assistantMessageId, USER);
    const stored = await storedMessage(assistantMessageId);
    await item.replace({ ...stored, status: 'streaming', leaseUntil: new Date(t.clock.now().getTime() + 60_000).toISOString() });
    const res = await put(conversationId, assistantMessageId, { rating: 'up' });
    expect(res.status, res.raw).toBe(409);
    expect(res.body.code).toBe('conversation_busy');
    // Just past its lease the turn may still be settling it: still refused.
    await item.replace({ ...stored, status: 'streaming', leaseUntil: new Date(t.clock.now().getTime() - 1_000).toISOString() });
    expect((await put(conversationId, assistantMessageId, { rating: 'up' })).status).toBe(409);
    expect(await storedMessage(assistantMessageId)).not.toHaveProperty('feedback');
  });

  /**
   * What a lost instance leaves: the lock still naming its turn, the reply streaming, both past their lease and
   * past the settle budget, so no turn can write that reply any more.
   */
  async function lostTurn(): Promise<Turn & { turnId: string }> {
    const conversationId = await newConversation(t.api, USER);
    const lost = await turn(conversationId, 'First question');
    const past = new Date(t.clock.now().getTime() - LEASE_TIMING.settleBudgetMs - 5_000).toISOString();
    const reply = await storedMessage(lost.assistantMessageId);
    const { usage: _usage, finishReason: _finish, ...streaming } = reply;
    await t.container.item(lost.assistantMessageId, USER).replace({ ...streaming, status: 'streaming', leaseUntil: past, sendable: true });
    const conv = t.container.item(conversationId, USER);
    const { resource: doc } = await conv.read<Record<string, unknown>>();
    await conv.replace({ ...doc!, activeTurn: { turnId: reply.turnId, expiresAt: past } });
    return { ...lost, turnId: reply.turnId as string };
  }

  it('keeps feedback given to a lost reply when the next turn settles it', async () => {
    const lost = await lostTurn();
    const { conversationId } = lost;

    const rated = await put(conversationId, lost.assistantMessageId, { rating: 'down', comment: 'cut off' });
    expect(rated.status, rated.raw).toBe(200);
    expect(rated.body.status).toBe('incomplete');

    // The next turn finds the expired lock and settles the lost reply (recoverLostTurn) before its own.
    await turn(conversationId, 'Second question');
    const settled = await storedMessage(lost.assistantMessageId);
    expect(settled.status).toBe('incomplete');
    expect(settled).not.toHaveProperty('leaseUntil');
    expect(settled.feedback).toEqual(rated.body.feedback);
  });

  it('keeps feedback that lands between the recovery reading the lost reply and writing it', async () => {
    const lost = await lostTurn();
    const s = t.services;
    let rated: Awaited<ReturnType<typeof put>> | undefined;
    // The store the recovery uses, with a client's PUT landing right after the recovery's read of the reply.
    const store = new Proxy(s.store, {
      get: (target, name) => name === 'getMessage'
        ? async (userId: string, messageId: string) => {
          const read = await target.getMessage(userId, messageId);
          if (messageId === lost.assistantMessageId && !rated) rated = await put(lost.conversationId, messageId, { rating: 'down', comment: 'raced' });
          return read;
        }
        : (Reflect.get(target, name) as (...a: unknown[]) => unknown).bind(target),
    }) as ConversationStore;
    const turns = new ChatTurns({
      store, conversations: s.conversations, model: s.model, ledger: s.ledger, reservations: s.reservations, clock: s.clock,
      tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: s.config.limits.turnLockSeconds,
      userMaxConcurrentTurns: s.config.limits.userMaxConcurrentTurns,
    });
    const conversation = (await s.store.getConversation(USER, lost.conversationId))!;
    await turns.recoverLost(USER, conversation, lost.turnId, t.clock.now());
    expect(rated?.status, rated?.raw).toBe(200);
    const settled = await storedMessage(lost.assistantMessageId);
    expect(settled.status).toBe('incomplete');
    expect((settled.error as { code: string }).code).toBe('instance_lost');
    expect(settled.feedback).toEqual(rated!.body.feedback);
  });

  it('another user gets 404 and changes nothing', async () => {
    await put(first.conversationId, first.assistantMessageId, { rating: 'up', comment: 'mine' });
    const before = await storedMessage(first.assistantMessageId);
    const stranger = 'feedback-stranger';
    const own = await newConversation(t.api, stranger);
    for (const res of [
      await put(first.conversationId, first.assistantMessageId, { rating: 'down' }, stranger),
      await remove(first.conversationId, first.assistantMessageId, stranger),
      await put(own, first.assistantMessageId, { rating: 'down' }, stranger),
      await remove(own, first.assistantMessageId, stranger),
    ]) {
      expect(res.status).toBe(404);
      expect(res.raw).not.toContain('mine');
    }
    expect(await storedMessage(first.assistantMessageId)).toEqual(before);
  });
});
