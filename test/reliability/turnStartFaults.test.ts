import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import type { ConversationStore } from '../../src/chat/ConversationStore.js';
import type { Message } from '../../src/chat/conversation.js';
import { StoreUnavailableError } from '../../src/chat/errors.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { useServices } from '../../src/app.js';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A store that fails part of a turn's first writes (the user message lands, the placeholder does not): a failure
 * the proxy cannot aim at one write, so the real store is wrapped and one call made to fail. Nothing may be left
 * half-written: no orphan user message, no idempotency record pointing at messages that do not exist.
 */
let t: TestApp;
const USER = 'start-fault-user';
let failPlaceholder = false;

beforeAll(async () => {
  t = await startTestApp();
  const real = t.services.store;
  const putMessage = async (message: Message): Promise<Message> => {
    if (failPlaceholder && message.role === 'assistant' && message.status === 'streaming') {
      await new Promise((r) => setTimeout(r, 20)); // let the user message and the idempotency record land first
      throw new StoreUnavailableError('The database is unreachable.', new Error('injected'));
    }
    return real.putMessage(message);
  };
  // Every other method is the real store's own (bound: it keeps its state in #private fields).
  const flaky = new Proxy(real, {
    get: (target, name) => (name === 'putMessage' ? putMessage : (Reflect.get(target, name) as (...a: unknown[]) => unknown).bind(target)),
  }) as ConversationStore;
  const s = t.services;
  const turns = new ChatTurns({
    store: flaky, conversations: s.conversations, model: s.model, ledger: s.ledger, clock: s.clock,
    tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: s.config.limits.turnLockSeconds,
  });
  useServices({ ...s, store: flaky, turns });
});
afterAll(() => t.close());
beforeEach(() => {
  failPlaceholder = false;
  t.sim.reset();
});

it('a turn whose first writes half fail answers 503 and leaves nothing behind; its retry with the same key runs', async () => {
  const id = await newConversation(t.api, USER);
  const before = await snapshot(t.container);
  failPlaceholder = true;
  const headers = { accept: 'application/json', 'idempotency-key': 'half-written' };
  const failed = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Hello?' }, headers });
  expect(failed.status).toBe(503);
  expect(failed.body.code).toBe('store_unavailable');
  expect(t.sim.completionRequests).toHaveLength(0);
  const after = JSON.parse(await snapshot(t.container)) as { id: string; type: string; activeTurn?: unknown }[];
  expect(after.filter((d) => d.type !== 'conversation')).toEqual(
    (JSON.parse(before) as { type: string }[]).filter((d) => d.type !== 'conversation'),
  );
  expect(after.find((d) => d.id === id)?.activeTurn).toBeNull();

  failPlaceholder = false;
  const retried = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content: 'Hello?' }, headers });
  expect(retried.status).toBe(201);
  const items = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;
  expect(items.map((m: { role: string; status: string; content: string }) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete']);
});
