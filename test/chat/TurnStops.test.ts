import { describe, expect, it } from 'vitest';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import { Conversations } from '../../src/chat/Conversations.js';
import { LiveTurns } from '../../src/chat/LiveTurns.js';
import { findModel, type ModelSpec } from '../../src/chat/modelCatalog.js';
import { ReplyStreams } from '../../src/chat/ReplyStreams.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import { TurnStops } from '../../src/chat/TurnStops.js';
import type { TurnEvent } from '../../src/chat/turnTypes.js';
import { TestClock } from '../support/clock.js';
import { MemoryConversationStore } from '../support/memory/MemoryConversationStore.js';
import { MemoryStopRequests } from '../support/memory/MemoryStopRequests.js';
import { MemoryTurnReservations } from '../support/memory/MemoryTurnReservations.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';
import { gate, ScriptedChatModel } from '../support/memory/ScriptedChatModel.js';

/**
 * Stop and resume on the in-memory stores, with two "instances" (each its own LiveTurns) over one store: the rules,
 * no socket. The HTTP tests (test/functions/stop.test.ts, resume.test.ts, twoInstances.test.ts) hold them over
 * the real store and the simulator.
 */
const MODEL = findModel('phi-3.5-mini-instruct') as ModelSpec;

function instances() {
  const clock = new TestClock();
  const ledger = new MemoryUsageLedger();
  const store = new MemoryConversationStore(clock, ledger);
  const stopRequests = new MemoryStopRequests();
  const model = new ScriptedChatModel();
  const conversations = new Conversations(store, clock, [MODEL]);
  const reservations = new MemoryTurnReservations((userId, day) => ledger.tokensOn(userId, day));
  const instance = () => {
    const liveTurns = new LiveTurns();
    const turns = new ChatTurns({
      store, conversations, model, ledger, clock, reservations, liveTurns, stopRequests, stopPollMs: 10,
      tokenizerFor: (spec) => tokenizerFor(spec.tokenizer), turnLockSeconds: 30, userMaxConcurrentTurns: 4, storeAttempts: 1, log: () => {},
    });
    const stops = new TurnStops({ store, stopRequests, liveTurns, clock, recoverLost: (...args) => turns.recoverLost(...args) });
    const streams = new ReplyStreams({ store, liveTurns, clock, followIntervalMs: 10 });
    return { turns, stops, streams };
  };
  return { store, ledger, model, conversations, clock, a: instance(), b: instance() };
}

async function collect(events: AsyncIterable<TurnEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('stop and resume across instances (in memory)', () => {
  it("a stop on B ends A's turn through the store: cancelled, the relayed text, usage once with the prompt counted", async () => {
    const s = instances();
    const { id } = await s.conversations.create('u', {});
    const hold = gate();
    s.model.next({ deltas: ['Once', ' upon'], until: hold.until });
    const turn = await s.a.turns.start('u', id, { content: 'A story' });
    const relayed = collect(turn.events);
    // B follows it from the store while it runs.
    const followed = (await s.b.streams.follow('u', id, turn.assistantMessageId, undefined)).events;
    const following = collect(followed);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const answer = await s.b.stops.stop('u', id, turn.assistantMessageId);
    expect(answer.accepted).toBe(true);
    const outcome = await turn.outcome;
    expect(outcome).toMatchObject({ type: 'completed', message: { status: 'incomplete', finishReason: 'cancelled', content: 'Once upon' } });
    const events = await relayed;
    expect(events.filter((e) => e.type === 'delta').map((e) => (e as { content: string }).content).join('')).toBe('Once upon');
    const message = outcome.type === 'completed' ? outcome.message : null;
    expect(message?.usage).toMatchObject({ estimated: true });
    expect(message!.usage!.promptTokens).toBeGreaterThan(0);
    expect(await s.ledger.tokensOn('u', new Date().toISOString().slice(0, 10))).toBe(message!.usage!.totalTokens);
    // B's follower ends with the same terminal event, holding the same text.
    const got = await following;
    expect(got.flatMap((e) => (e.type === 'delta' ? [e.content] : [])).join('')).toBe('Once upon');
    expect(got.at(-1)).toMatchObject({ type: 'completed', message: { finishReason: 'cancelled', content: 'Once upon' } });
    // Stopped again, on either instance: 200 with the same message, nothing counted twice.
    for (const again of [await s.a.stops.stop('u', id, turn.assistantMessageId), await s.b.stops.stop('u', id, turn.assistantMessageId)]) {
      expect(again.accepted).toBe(false);
      expect(again.message).toEqual(message);
    }
    expect(await s.ledger.tokensOn('u', new Date().toISOString().slice(0, 10))).toBe(message!.usage!.totalTokens);
  });

  it('a stop on the running instance ends it at once and answers with the stored, stopped reply', async () => {
    const s = instances();
    const { id } = await s.conversations.create('u', {});
    const hold = gate();
    s.model.next({ deltas: ['Hello'], until: hold.until });
    const turn = await s.a.turns.start('u', id, { content: 'Hi' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const answer = await s.a.stops.stop('u', id, turn.assistantMessageId);
    expect(answer).toMatchObject({ accepted: true, message: { status: 'incomplete', finishReason: 'cancelled', content: 'Hello' } });
    expect(await s.store.getMessage('u', turn.assistantMessageId)).toEqual(answer.message);
    // The lock is free: the next turn starts.
    s.model.next({});
    expect((await (await s.a.turns.start('u', id, { content: 'Again' })).outcome).type).toBe('completed');
  });
});
