import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/chat/conversation.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/chat/errors.js';
import { LEASE_TIMING } from '../../src/chat/leaseTiming.js';
import { checkRateable, setMessageFeedback } from '../../src/chat/messageFeedback.js';
import { MemoryConversationStore } from '../support/memory/MemoryConversationStore.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';
import { turnStartAt } from '../support/turnStart.js';

const NOW = new Date('2026-12-02T12:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const reply = (fields: Partial<Message> = {}): Message => ({
  id: 'm_x', conversationId: 'c_x', userId: 'u', role: 'assistant', content: 'hi', status: 'complete', createdAt: at(0),
  tokenCount: 1, seq: 2, turnId: 't_x', ...fields,
});

describe('checkRateable: which messages take feedback', () => {
  it('takes a finished reply of any outcome', () => {
    for (const status of ['complete', 'incomplete', 'failed', 'filtered'] as const) expect(() => checkRateable(reply({ status }), NOW)).not.toThrow();
  });

  it('refuses a user message with a validation error on messageId', () => {
    expect(() => checkRateable(reply({ role: 'user' }), NOW)).toThrow(ValidationError);
  });

  it('refuses a streaming reply while its turn may still write it: its lease, then the settle budget', () => {
    const budget = LEASE_TIMING.settleBudgetMs;
    expect(() => checkRateable(reply({ status: 'streaming', leaseUntil: at(60_000) }), NOW)).toThrow(ConflictError);
    expect(() => checkRateable(reply({ status: 'streaming', leaseUntil: at(-budget + 1) }), NOW)).toThrow(ConflictError);
    expect(() => checkRateable(reply({ status: 'streaming', leaseUntil: at(-budget) }), NOW)).not.toThrow();
    // No lease at all: a placeholder no turn is known to hold (read as lost).
    expect(() => checkRateable(reply({ status: 'streaming' }), NOW)).not.toThrow();
  });
});

describe('setMessageFeedback', () => {
  it('sets, replaces and removes the feedback, stamped with the clock; another caller or conversation is not found', async () => {
    // Stopped, unlike TestClock: the stamp is compared with the clock read afterwards.
    let time = NOW.getTime();
    const clock = { now: () => new Date(time), advance: (ms: number) => (time += ms) };
    const store = new MemoryConversationStore(clock, new MemoryUsageLedger());
    const c = await store.createConversation('u', { id: 'c_a', title: 't', model: 'phi-4-mini-instruct', systemPrompt: null, settings: {}, createdAt: at(0) });
    const begun = await store.beginTurn('u', c, turnStartAt(clock, 'u', c.id));
    if (!begun.started) throw new Error('not started');
    const placeholder = begun.messages[1]!;
    await store.putMessage({ ...placeholder, status: 'complete', content: 'answer' });
    const deps = { store, clock };

    const rated = await setMessageFeedback(deps, 'u', c.id, placeholder.id, { rating: 'up', comment: 'good' });
    expect(rated.feedback).toEqual({ rating: 'up', comment: 'good', updatedAt: clock.now().toISOString() });
    clock.advance(5_000);
    const changed = await setMessageFeedback(deps, 'u', c.id, placeholder.id, { rating: 'down' });
    expect(changed.feedback).toEqual({ rating: 'down', comment: null, updatedAt: clock.now().toISOString() });
    const removed = await setMessageFeedback(deps, 'u', c.id, placeholder.id, null);
    expect(removed).not.toHaveProperty('feedback');
    expect(removed.content).toBe('answer');

    await expect(setMessageFeedback(deps, 'someone-else', c.id, placeholder.id, { rating: 'up' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(setMessageFeedback(deps, 'u', 'c_other', placeholder.id, { rating: 'up' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(setMessageFeedback(deps, 'u', c.id, begun.messages[0]!.id, { rating: 'up' })).rejects.toBeInstanceOf(ValidationError);
    expect(await store.getMessage('u', placeholder.id)).not.toHaveProperty('feedback');
  });
});
