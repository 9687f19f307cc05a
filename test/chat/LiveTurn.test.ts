import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/chat/errors.js';
import { LiveTurn, TurnCancelled } from '../../src/chat/LiveTurn.js';
import { LiveTurns } from '../../src/chat/LiveTurns.js';
import type { TurnEvent, TurnOutcomeEvent } from '../../src/chat/turnTypes.js';
import { watchStopRequest } from '../../src/chat/watchStopRequest.js';
import { MemoryStopRequests } from '../support/memory/MemoryStopRequests.js';

const IDS = { userId: 'u', conversationId: 'c_x', messageId: 'm_xa', turnId: 't_x' };
const END = { type: 'failed', error: new ValidationError('x'), message: null } as unknown as TurnOutcomeEvent;

async function collect(events: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const text = (events: readonly TurnEvent[]) => events.flatMap((e) => (e.type === 'delta' ? [e.content] : [])).join('');

describe('LiveTurn', () => {
  it('hands a follower what it misses, then each piece, then the end: nothing twice, nothing skipped', async () => {
    const turn = new LiveTurn(IDS);
    turn.relay('Once ');
    turn.relay('upon ');
    const fromStart = collect(turn.follow(0, 'Last-Event-ID'));
    const fromMiddle = collect(turn.follow(5, 'Last-Event-ID'));
    const fromNow = collect(turn.follow(10, 'Last-Event-ID'));
    turn.relay('a time');
    turn.endRelay();
    turn.finish(END);
    const [a, b, c] = await Promise.all([fromStart, fromMiddle, fromNow]);
    expect([text(a), text(b), text(c)]).toEqual(['Once upon a time', 'upon a time', 'a time']);
    for (const events of [a, b, c]) expect(events.at(-1)).toBe(END);
    // Joined after the end (before the registry let go of it): what is missing and the end.
    expect(await collect(turn.follow(5, 'Last-Event-ID'))).toEqual([{ type: 'delta', content: 'upon a time' }, END]);
  });

  it('refuses a position past what was relayed', () => {
    const turn = new LiveTurn(IDS);
    turn.relay('abc');
    expect(() => turn.follow(4, 'lastEventId')).toThrow(ValidationError);
  });

  it('relays nothing after a stop, and a stop after the relay ended changes nothing', () => {
    const stopped = new LiveTurn(IDS);
    stopped.relay('a');
    expect(stopped.stop()).toBe(true);
    expect(stopped.signal.reason).toBeInstanceOf(TurnCancelled);
    expect(stopped.cancelled).toBe(true);
    expect(stopped.relay('b')).toBe(false);
    expect(stopped.content).toBe('a');
    expect(stopped.stop()).toBe(false);

    const ended = new LiveTurn(IDS);
    ended.relay('a');
    ended.endRelay();
    expect(ended.stop()).toBe(false);
    expect(ended.cancelled).toBe(false);
    expect(ended.signal.aborted).toBe(false);
  });

  it("is found only by its caller and conversation, and only until it is settled", async () => {
    const turns = new LiveTurns();
    const turn = turns.open(IDS);
    expect(turns.find('u', 'c_x', 'm_xa')).toBe(turn);
    expect(turns.find('other', 'c_x', 'm_xa')).toBeUndefined();
    expect(turns.find('u', 'c_y', 'm_xa')).toBeUndefined();
    turn.finish(END);
    await turn.outcome;
    expect(turns.find('u', 'c_x', 'm_xa')).toBeUndefined();
    expect(turns.size).toBe(0);
  });
});

describe('watchStopRequest', () => {
  it('finds a stop recorded after it started looking, once; and never calls after it was ended', async () => {
    const stops = new MemoryStopRequests();
    let calls = 0;
    const unwatch = watchStopRequest(stops, 'u', 't_1', 5, () => (calls += 1));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(0);
    await stops.request('u', 't_1', new Date());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toBe(1);
    unwatch();

    let late = 0;
    const stopLooking = watchStopRequest(stops, 'u', 't_2', 5, () => (late += 1));
    stopLooking();
    await stops.request('u', 't_2', new Date());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(late).toBe(0);
  });
});
