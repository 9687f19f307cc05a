import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ValidationError } from '../../src/chat/errors.js';
import { parseStreamEventId, streamEventId } from '../../src/chat/streamEventId.js';

describe('streamEventId', () => {
  it('gives back the length it was made from, for deltas and terminal events alike', () => {
    fc.assert(fc.property(fc.nat({ max: 10_000_000 }), fc.boolean(), (length, terminal) => {
      expect(parseStreamEventId(streamEventId(length, terminal), 'Last-Event-ID')).toBe(length);
    }));
  });

  it('tells the terminal event apart from the delta that reached the same length', () => {
    expect(streamEventId(12)).toBe('12');
    expect(streamEventId(12, true)).toBe('12-end');
  });

  it.each(['', '-1', '01', '1.5', 'abc', '12-done', ' 3', '99999999999999999', '3\n'])('refuses %j with a 400 naming the field', (id) => {
    let thrown: unknown;
    try {
      parseStreamEventId(id, 'lastEventId');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).extra.errors).toEqual([{ field: 'lastEventId', message: 'not an event id this service sent' }]);
  });
});
