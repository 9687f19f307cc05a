import { describe, expect, it } from 'vitest';
import { asSeen, INSTANCE_LOST, type Message } from '../../src/chat/conversation.js';
import { presentMessage } from '../../src/http/present.js';

const NOW = new Date('2026-06-02T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const reply = (fields: Partial<Message>): Message => ({
  id: 'm_a', conversationId: 'c_1', userId: 'u', role: 'assistant', content: 'Once upon', status: 'streaming',
  createdAt: at(-5_000), tokenCount: 2, seq: 2, turnId: 't_1', finishReason: null, ...fields,
});

describe('asSeen: a streaming reply past its lease is a lost turn', () => {
  it('leaves a reply whose lease still runs as it is', () => {
    const live = reply({ leaseUntil: at(1) });
    expect(asSeen(live, NOW)).toBe(live);
  });

  it('reads a reply at or past its lease (or with none) as incomplete, instance_lost, with what was saved and no lease', () => {
    for (const leaseUntil of [at(0), at(-1), undefined]) {
      const seen = asSeen(reply(leaseUntil === undefined ? {} : { leaseUntil }), NOW);
      expect(seen).toMatchObject({ status: 'incomplete', content: 'Once upon', tokenCount: 2, error: INSTANCE_LOST });
      expect(seen.error).toEqual({ code: 'instance_lost', detail: 'The turn stopped before it finished.' });
      expect('leaseUntil' in seen).toBe(false);
    }
  });

  it('keeps an error the message already carries, and never touches a settled message', () => {
    const error = { code: 'upstream_timeout', detail: 'stopped' };
    expect(asSeen(reply({ leaseUntil: at(-1), error }), NOW).error).toEqual(error);
    for (const status of ['complete', 'incomplete', 'failed', 'filtered'] as const) {
      const settled = reply({ status, leaseUntil: at(-1) });
      expect(asSeen(settled, NOW)).toBe(settled);
    }
  });

  it('is what the contract shape reports: presentMessage shapes the seen message', () => {
    const lost = reply({ leaseUntil: at(-1) });
    expect(presentMessage(lost, NOW)).toMatchObject({ status: 'incomplete', error: INSTANCE_LOST, content: 'Once upon' });
    expect(presentMessage(reply({ leaseUntil: at(1_000) }), NOW)).toMatchObject({ status: 'streaming' });
    expect(presentMessage(reply({ leaseUntil: at(1_000) }), NOW)).not.toHaveProperty('error');
  });
});
