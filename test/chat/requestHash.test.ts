import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requestHash } from '../../src/chat/requestHash.js';
import type { TurnRequest } from '../../src/chat/turnTypes.js';
import { postMessageSchema } from '../../src/http/schemas.js';

const base: TurnRequest = {
  content: 'Hello',
  settings: { temperature: 0.5, maxTokens: 100, stop: ['\n'] },
  extra: { logprobs: true, logitBias: { '42': -5 } },
};

describe('requestHash: an Idempotency-Key replays only the same request', () => {
  it('is equal for equal fields, whatever their order, and ignores the key itself', () => {
    const reordered: TurnRequest = {
      extra: { logitBias: { '42': -5 }, logprobs: true },
      settings: { stop: ['\n'], maxTokens: 100, temperature: 0.5 },
      content: 'Hello',
      idempotencyKey: 'k-1',
    };
    expect(requestHash(reordered)).toBe(requestHash(base));
    expect(requestHash({ ...base, idempotencyKey: 'k-2' })).toBe(requestHash(base));
    // A send after the active leaf is the plain send it always was: records stored before still replay.
    expect(requestHash({ ...base, target: { kind: 'send' } })).toBe(requestHash(base));
  });

  it('differs when any field differs', () => {
    const others: TurnRequest[] = [
      { ...base, content: 'Hello!' },
      { ...base, settings: { ...base.settings, temperature: 0.6 } },
      { ...base, settings: { ...base.settings, seed: 1 } },
      { ...base, settings: undefined },
      { ...base, extra: { logprobs: true, logitBias: { '42': -4 } } },
      { ...base, extra: undefined },
      { content: 'Hello', settings: {} },
      // Where in the tree: an edit after a message, a new first message, a regeneration of one message or another.
      { ...base, target: { kind: 'send', parentId: 'm_AAAAAAAAAAAAAAAAAAAAAa' } },
      { ...base, target: { kind: 'send', parentId: null } },
      { ...base, target: { kind: 'regenerate', messageId: 'm_AAAAAAAAAAAAAAAAAAAAAa' } },
      { ...base, target: { kind: 'regenerate', messageId: 'm_BAAAAAAAAAAAAAAAAAAAAa' } },
    ];
    const hashes = new Set([requestHash(base), ...others.map(requestHash)]);
    expect(hashes.size).toBe(others.length + 1);
    expect(requestHash({ content: 'Hello', settings: {} })).not.toBe(requestHash({ content: 'Hello' }));
  });

  it('equals the digest the edge kept of the parsed body, so records stored before still replay', () => {
    const body = postMessageSchema(1_000).parse({
      extra: { logitBias: { '7': 1, '3': 2 }, topLogprobs: 2 }, settings: { seed: 9, temperature: 1, stop: ['x'] }, content: 'Hi',
    });
    expect(requestHash(body)).toBe(createHash('sha256').update(JSON.stringify(body)).digest('base64url'));
  });
});
