import { describe, expect, it } from 'vitest';
import { ChatTurns } from '../../src/chat/ChatTurns.js';
import { Conversations } from '../../src/chat/Conversations.js';
import { ChatError, UpstreamError } from '../../src/chat/errors.js';
import { findModel, type ModelSpec } from '../../src/chat/modelCatalog.js';
import { tokenizerFor } from '../../src/chat/tokenizer/index.js';
import type { StartedTurn, TurnOutcomeEvent, TurnRequest } from '../../src/chat/turnTypes.js';
import { secondsToUtcMidnight, utcDay } from '../../src/chat/UsageLedger.js';
import { TestClock } from '../support/clock.js';
import { MemoryConversationStore } from '../support/memory/MemoryConversationStore.js';
import { MemoryTurnReservations } from '../support/memory/MemoryTurnReservations.js';
import { MemoryUsageLedger } from '../support/memory/MemoryUsageLedger.js';
import { gate, SCRIPTED_USAGE, ScriptedChatModel, type Script } from '../support/memory/ScriptedChatModel.js';

/**
 * The turn's rules on the in-memory stores and a scripted model: no server, no socket. The stores are held to the
 * Cosmos adapters' contract (`memoryStores.test.ts`), so what holds here holds for the rules, not for a fake.
 */
const MODEL = findModel('phi-3.5-mini-instruct') as ModelSpec;
const LOCK_SECONDS = 30;
let users = 0;

interface Setup {
  readonly user: string;
  readonly turns: ChatTurns;
  readonly store: MemoryConversationStore;
  readonly ledger: MemoryUsageLedger;
  readonly model: ScriptedChatModel;
  readonly clock: TestClock;
  conversation(): Promise<string>;
}

function setup(limits: { daily?: number; concurrent?: number } = {}): Setup {
  const clock = new TestClock();
  const ledger = new MemoryUsageLedger();
  const store = new MemoryConversationStore(clock, ledger);
  const model = new ScriptedChatModel();
  const conversations = new Conversations(store, clock, [MODEL]);
  const turns = new ChatTurns({
    store, conversations, model, ledger, clock,
    reservations: new MemoryTurnReservations((userId, day) => ledger.tokensOn(userId, day)),
    tokenizerFor: (spec) => tokenizerFor(spec.tokenizer),
    turnLockSeconds: LOCK_SECONDS,
    userDailyTokenLimit: limits.daily,
    userMaxConcurrentTurns: limits.concurrent ?? 4,
    storeAttempts: 1,
    log: () => {},
  });
  const user = `turn-rules-${(users += 1)}`;
  return { user, turns, store, ledger, model, clock, conversation: async () => (await conversations.create(user, {})).id };
}

const request = (fields: Partial<TurnRequest> = {}): TurnRequest => ({ content: 'Hi there', ...fields });

async function refusal(turn: Promise<StartedTurn>): Promise<ChatError> {
  const error: unknown = await turn.then(() => new Error('the turn started'), (e: unknown) => e);
  if (!(error instanceof ChatError)) throw error;
  return error;
}

async function completed(turn: Promise<StartedTurn>): Promise<Extract<TurnOutcomeEvent, { type: 'completed' }>> {
  const outcome = await (await turn).outcome;
  if (outcome.type !== 'completed') throw new Error(`the turn failed: ${outcome.error.code}`);
  return outcome;
}

async function stored(s: Setup, conversationId: string): Promise<{ messages: number; messageCount: number | undefined }> {
  const page = await s.store.listMessages(s.user, conversationId, { limit: 100, order: 'asc' });
  return { messages: page.items.length, messageCount: (await s.store.getConversation(s.user, conversationId))?.messageCount };
}

const today = (s: Setup) => utcDay(s.clock.now());
const spend = (s: Setup, totalTokens: number) =>
  s.ledger.record(s.user, { turnId: `t_spent${totalTokens}`, conversationId: 'c_other', model: MODEL.id, day: today(s), usage: { promptTokens: totalTokens, completionTokens: 0, totalTokens } });

/** A turn held running (its model call waits until `open`) in a new conversation. */
async function aRunningTurn(s: Setup, fields: Partial<TurnRequest> = {}): Promise<{ id: string; running: StartedTurn; open(): void }> {
  const id = await s.conversation();
  const held = gate();
  s.model.next({ until: held.until });
  return { id, running: await s.turns.start(s.user, id, request(fields)), open: held.open };
}

/** A turn held running in one conversation, and what a turn in a second conversation meets meanwhile. */
async function besideARunningTurn(s: Setup): Promise<{ second: string; running: StartedTurn; refused: ChatError; open(): void }> {
  const { running, open } = await aRunningTurn(s);
  const second = await s.conversation();
  s.model.next({});
  return { second, running, refused: await refusal(s.turns.start(s.user, second, request())), open };
}

describe('the daily quota', () => {
  it('starts a turn while one token of the day is left (the turn may cross the limit), then refuses at the limit', async () => {
    const s = setup({ daily: 500 });
    const id = await s.conversation();
    await spend(s, 499);
    s.model.next({});
    const first = await completed(s.turns.start(s.user, id, request()));
    expect(first.message.usage).toEqual(SCRIPTED_USAGE);

    // The clock runs with real time, so midnight may come one second closer while the turn is refused.
    const latest = secondsToUtcMidnight(s.clock.now());
    const refused = await refusal(s.turns.start(s.user, id, request({ idempotencyKey: 'k-over' })));
    const earliest = secondsToUtcMidnight(s.clock.now());
    expect(refused.code).toBe('quota_exceeded');
    expect(refused.extra).toMatchObject({ dailyTokenLimit: 500, usedToday: 499 + 13, reservedTokens: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(earliest);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(latest);
    // Refused before anything of it is stored.
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
    expect(await s.store.getIdempotencyRecord(s.user, id, 'k-over')).toBeNull();
  });

  it('refuses a caller who has spent exactly the limit', async () => {
    const s = setup({ daily: 500 });
    const id = await s.conversation();
    await spend(s, 500);
    expect((await refusal(s.turns.start(s.user, id, request()))).extra).toMatchObject({ usedToday: 500, reservedTokens: 0 });
    expect(await stored(s, id)).toEqual({ messages: 0, messageCount: 0 });
  });

  it('holds a running turn\'s prompt + maxTokens against the limit until it settles, then counts what it spent', async () => {
    const s = setup({ daily: 1_000 });
    const { second, running, refused, open } = await besideARunningTurn(s);
    expect(refused.code).toBe('quota_exceeded');
    open();
    const outcome = await running.outcome;
    if (outcome.type !== 'completed') throw new Error(outcome.error.code);
    expect(refused.extra).toMatchObject({ usedToday: 0, reservedTokens: outcome.context.promptTokens + outcome.context.maxTokens });
    expect(outcome.context.maxTokens).toBe(MODEL.defaultMaxTokens);
    // Settled: its reservation is gone and its 13 tokens are spent, far below the limit.
    await completed(s.turns.start(s.user, second, request()));
    expect(await s.ledger.days(s.user, today(s), today(s))).toMatchObject([{ totalTokens: 26, requests: 2 }]);
  });

  it('caps one caller\'s turns in flight: one more is rate_limited with a Retry-After, and runs once one settles', async () => {
    const s = setup({ concurrent: 1 });
    const { second, running, refused, open } = await besideARunningTurn(s);
    expect(refused.code).toBe('rate_limited');
    expect(refused.extra).toEqual({ maxConcurrentTurns: 1, turnsInFlight: 1 });
    expect(refused.retryAfterSeconds).toBe(5);
    expect(await stored(s, second)).toEqual({ messages: 0, messageCount: 0 });
    open();
    await running.outcome;
    await completed(s.turns.start(s.user, second, request()));
  });
});

describe('the conversation lock', () => {
  it('refuses a second turn while the first runs (conversation_busy), storing nothing of it', async () => {
    const s = setup();
    const { id, running, open } = await aRunningTurn(s);
    const busy = await refusal(s.turns.start(s.user, id, request({ content: 'and another thing', idempotencyKey: 'k2' })));
    expect(busy.code).toBe('conversation_busy');
    expect(await s.store.getIdempotencyRecord(s.user, id, 'k2')).toBeNull();
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 0 });
    open();
    expect((await running.outcome).type).toBe('completed');
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
  });

  it('lets a turn take over a lock (and a reservation) whose lease passed; the lost turn settling late leaves the new lock', async () => {
    const s = setup({ concurrent: 1 });
    const id = await s.conversation();
    const [lostGate, nextGate] = [gate(), gate()];
    s.model.next({ until: lostGate.until, deltas: ['lost'] }, { until: nextGate.until, deltas: ['next'] });
    const lost = await s.turns.start(s.user, id, request());
    expect((await refusal(s.turns.start(s.user, id, request()))).code).toBe('conversation_busy');
    s.clock.advance((LOCK_SECONDS + 1) * 1000);
    const next = await s.turns.start(s.user, id, request({ content: 'anyone there?' }));
    expect(next.userMessage.seq).toBe(3);

    lostGate.open();
    expect((await lost.outcome).type).toBe('completed');
    expect((await s.store.getConversation(s.user, id))?.activeTurn?.turnId).toBe(next.userMessage.turnId);
    expect((await refusal(s.turns.start(s.user, id, request()))).code).toBe('conversation_busy');
    nextGate.open();
    expect((await next.outcome).type).toBe('completed');
    // The next turn found the lost one past its lease and recorded it (estimated, once); the lost turn's own late
    // settle then adds nothing: conversation totals and ledger agree, each turn counted once.
    const settled = await s.store.getConversation(s.user, id);
    expect(settled).toMatchObject({ activeTurn: null, messageCount: 4 });
    const [day] = await s.ledger.days(s.user, '2000-01-01', '2999-12-31');
    expect(day).toMatchObject({ requests: 2, totalTokens: settled?.usage.totalTokens });
    expect(day!.totalTokens).toBeGreaterThan(13);
  });
});

describe('idempotency', () => {
  it('runs the same key sent twice at once as one turn: the other is refused 409, nothing stored or counted twice', async () => {
    const s = setup();
    const id = await s.conversation();
    s.model.next({}, {});
    const both = await Promise.allSettled([s.turns.start(s.user, id, request({ idempotencyKey: 'twice' })), s.turns.start(s.user, id, request({ idempotencyKey: 'twice' }))]);
    const winners = both.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const losers = both.flatMap((r) => (r.status === 'rejected' ? [r.reason as ChatError] : []));
    expect(winners).toHaveLength(1);
    expect(losers.map((e) => e.code)).toEqual(['conversation_busy']);
    const first = await winners[0]!.outcome;
    expect(first.type).toBe('completed');
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
    expect(await s.ledger.tokensOn(s.user, today(s))).toBe(13);
    // Sent a third time, it is the first turn's replay.
    const replay = await completed(s.turns.start(s.user, id, request({ idempotencyKey: 'twice' })));
    expect(replay.message).toEqual(first.message);
  });

  it('refuses the key with another body (idempotency_key_reused), while its turn runs and after it finished', async () => {
    const s = setup();
    const { id, running, open } = await aRunningTurn(s, { idempotencyKey: 'k' });
    const other = request({ idempotencyKey: 'k', content: 'something else' });
    expect((await refusal(s.turns.start(s.user, id, other))).code).toBe('idempotency_key_reused');
    // The same body while it runs: not a second turn, and not yet its replay.
    const early = await refusal(s.turns.start(s.user, id, request({ idempotencyKey: 'k' })));
    expect([early.code, early.message]).toEqual(['conversation_busy', 'The first request with this Idempotency-Key is still running.']);
    open();
    await running.outcome;
    expect((await refusal(s.turns.start(s.user, id, other))).code).toBe('idempotency_key_reused');
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
  });

  it('hashes the request itself: the same fields in another order replay the turn, one other setting is refused', async () => {
    const s = setup();
    const id = await s.conversation();
    s.model.next({});
    const sent = request({ idempotencyKey: 'hashed', settings: { temperature: 0.5, maxTokens: 50 } });
    const first = await completed(s.turns.start(s.user, id, sent));
    const reordered: TurnRequest = { settings: { maxTokens: 50, temperature: 0.5 }, idempotencyKey: 'hashed', content: sent.content };
    expect((await completed(s.turns.start(s.user, id, reordered))).message).toEqual(first.message);
    const other = request({ idempotencyKey: 'hashed', settings: { temperature: 0.5, maxTokens: 51 } });
    expect((await refusal(s.turns.start(s.user, id, other))).code).toBe('idempotency_key_reused');
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
  });

  it('lets a key start a new turn once its record is past 24 hours', async () => {
    const s = setup();
    const id = await s.conversation();
    s.model.next({ deltas: ['one'] }, { deltas: ['two'] });
    const first = await completed(s.turns.start(s.user, id, request({ idempotencyKey: 'daily' })));
    s.clock.advance(25 * 60 * 60 * 1000);
    const second = await completed(s.turns.start(s.user, id, request({ idempotencyKey: 'daily' })));
    expect([first.message.content, second.message.content]).toEqual(['one', 'two']);
    expect(second.message.id).not.toBe(first.message.id);
  });
});

describe('replay', () => {
  it('replays a finished turn from the store: its messages and outcome, without the model, its tokens counted once', async () => {
    const s = setup();
    const id = await s.conversation();
    s.model.next({ deltas: ['The answer', ' is 42.'] });
    const started = await s.turns.start(s.user, id, request({ idempotencyKey: 'again' }));
    const first = await started.outcome;
    const replay = await s.turns.start(s.user, id, request({ idempotencyKey: 'again' }));
    const events = [];
    for await (const event of replay.events) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['created', 'completed']);
    expect(replay.userMessage).toEqual(started.userMessage);
    expect(replay.assistantMessageId).toBe(started.assistantMessageId);
    expect(await replay.outcome).toEqual(first);
    expect(first.type === 'completed' && first.message.content).toBe('The answer is 42.');
    expect(await stored(s, id)).toEqual({ messages: 2, messageCount: 2 });
    expect(await s.ledger.days(s.user, today(s), today(s))).toMatchObject([{ totalTokens: 13, requests: 1 }]);
  });

  it('replays a failed turn as its failure', async () => {
    const s = setup();
    const id = await s.conversation();
    s.model.next({ refuse: new UpstreamError('upstream_unavailable', 'The model is overloaded.') } satisfies Script);
    const first = await (await s.turns.start(s.user, id, request({ idempotencyKey: 'failed' }))).outcome;
    expect(first.type === 'failed' && first.error.code).toBe('upstream_unavailable');
    const replay = await (await s.turns.start(s.user, id, request({ idempotencyKey: 'failed' }))).outcome;
    expect(replay.type === 'failed' && [replay.error.code, replay.message?.status]).toEqual(['upstream_unavailable', 'failed']);
    expect(await s.ledger.tokensOn(s.user, today(s))).toBe(0);
  });

  it('replays a turn whose lease passed mid-stream (its instance lost) as failed, not as still running', async () => {
    const s = setup();
    const { id, running, open } = await aRunningTurn(s, { idempotencyKey: 'lost' });
    s.clock.advance((LOCK_SECONDS + 1) * 1000);
    const replay = await (await s.turns.start(s.user, id, request({ idempotencyKey: 'lost' }))).outcome;
    expect(replay.type === 'failed' && [replay.error.code, replay.message?.id]).toEqual(['upstream_error', running.assistantMessageId]);
    open();
    await running.outcome;
  });
});
