import { describe, expect, it } from 'vitest';
import { describeProblem, describeUsage, describeWait } from '../../local/page/describeProblem.js';

describe("the chat page's words", () => {
  it.each([[0, '0 s'], [59, '59 s'], [60, '1 min'], [61, '2 min'], [3599, '1 h'], [3600, '1 h'], [3660, '1 h 1 min'], [36_960, '10 h 16 min']])(
    'a wait of %i s reads "%s"', (seconds, words) => expect(describeWait(seconds)).toBe(words));

  it('says when a used-up quota resets, with the limit', () => {
    expect(describeProblem({ status: 429, code: 'quota_exceeded', detail: 'x', retryAfter: 7260, body: { dailyTokenLimit: 50_000 } }))
      .toBe("You have used today's quota of 50,000 tokens. It resets at midnight UTC, in 2 h 1 min.");
  });

  it('gives the numbers of a message that cannot fit the window', () => {
    expect(describeProblem({ status: 413, code: 'context_length_exceeded', detail: 'x', body: { promptTokens: 5000, window: 4096 } }))
      .toBe('This message is too long for the model (it needs 5,000 tokens; the model reads 4,096 at most). Shorten it or start a new chat.');
  });

  it("falls back to the service's own detail for a code it has no words for", () => {
    expect(describeProblem({ status: 418, code: 'teapot', detail: 'I am a teapot.' })).toBe('I am a teapot.');
  });

  it("reads today's usage and what is left of the quota", () => {
    expect(describeUsage({ totals: { totalTokens: 1234, requests: 1 }, quota: { dailyTokenLimit: null, remainingToday: null } }))
      .toEqual({ today: 'Today: 1,234 tokens in 1 request', quota: 'No daily limit' });
    expect(describeUsage({ totals: { totalTokens: 0, requests: 0 }, quota: { dailyTokenLimit: 10_000, remainingToday: 8766, resetsInSeconds: 90 } }))
      .toEqual({ today: 'Today: 0 tokens in 0 requests', quota: '8,766 of 10,000 tokens left today · resets in 2 min' });
  });
});
