import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../local/phiSimulator/startPhiSimulator.js';
import type { Fault } from '../../local/phiSimulator/FaultQueue.js';
import { TITLE_MAX_TOKENS } from '../../src/chat/titlePrompt.js';
import { call, newConversation } from '../support/http.js';
import { validate, type JsonSchema } from '../support/jsonSchema.js';
import { LiveStream } from '../support/liveStream.js';
import { startTestApp, WIRES, type TestApp } from '../support/testApp.js';

const LIMIT = 1_000_000;
const TITLE_CALL = { maxTokens: TITLE_MAX_TOKENS };
const isTitleCall = (r: RecordedRequest): boolean => (r.body as { max_tokens?: number }).max_tokens === TITLE_MAX_TOKENS;

const openapi = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as { components: { schemas: Record<string, JsonSchema> } };

interface UsageDoc { turnId: string; totalTokens: number; call?: string }

describe.each(WIRES)('auto titles (%s wire)', (wire) => {
  let t: TestApp;
  let n = 0;
  const user = () => `titles-${wire}-${(n += 1)}`;

  beforeAll(async () => {
    t = await startTestApp({ wire, env: { AUTO_TITLE: 'true', USER_DAILY_TOKEN_LIMIT: String(LIMIT) } });
  });
  afterAll(() => t.close());
  beforeEach(() => t.sim.reset());

  const open = (who: string, id: string, content: string) =>
    LiveStream.open(`${t.api}/conversations/${id}/messages`, { method: 'POST', user: who, body: { content } });
  const conversation = async (who: string, id: string) => (await call(t.api, 'GET', `/conversations/${id}`, { user: who })).body;
  const usageDocs = async (who: string): Promise<UsageDoc[]> => (await t.container.items.query<UsageDoc>({
    query: 'SELECT * FROM c WHERE c.userId = @u AND c.type = "usageTurn"', parameters: [{ name: '@u', value: who }],
  }, { partitionKey: who }).fetchAll()).resources;

  it('relays the first delta while the simulator holds the title call, stores the title afterwards, and counts it once as the caller\'s', async () => {
    const who = user();
    const id = await newConversation(t.api, who);
    t.sim.faults.nextFor(TITLE_CALL, { kind: 'firstByteDelayMs', ms: 2_000 });
    const stream = await open(who, id, 'How do I bake sourdough bread at home?');
    await stream.until((events) => events.some((e) => e.event === 'message.delta'), 'the first delta');
    // The reply's call went out first and is streaming; the title call, sent beside it, is still held unanswered.
    const [reply, title] = t.sim.completionRequests;
    expect(isTitleCall(reply!)).toBe(false);
    expect(reply!.accepted).toBe(true);
    if (title) expect(title.closedAt).toBeUndefined();
    await stream.until((events) => events.some((e) => e.event === 'message.completed'), 'the end of the turn');
    const held = t.sim.completionRequests.find(isTitleCall);
    expect(held?.faults).toEqual(['firstByteDelayMs']);
    expect(held?.closedAt).toBeUndefined();
    expect(stream.events.map((e) => e.event)).not.toContain('conversation.updated');
    // The reply has settled; the held title call still reserves its prompt + 32 against the quota.
    const whileHeld = (await call(t.api, 'GET', '/usage', { user: who })).body.quota;

    await t.services.turns.titlesSettled();
    expect(whileHeld.reservedTokens).toBe(held!.promptTokens! + TITLE_MAX_TOKENS);
    const named = await conversation(who, id);
    expect(named.titleSource).toBe('auto');
    expect(named.title).toMatch(/^\S.{0,79}$/u);
    expect(named.title).not.toBe('New conversation');

    // Two calls, both the caller's: the day's totals and requests equal the simulator's, the quota counts both.
    const usage = (await call(t.api, 'GET', '/usage', { user: who })).body;
    expect(t.sim.usageTotals.requests).toBe(2);
    expect(usage.totals.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    expect(usage.totals.promptTokens).toBe(t.sim.usageTotals.promptTokens);
    expect(usage.totals.requests).toBe(2);
    expect(usage.quota.remainingToday).toBe(LIMIT - t.sim.usageTotals.totalTokens);
    // The title's usage is its own record, not the turn's message usage nor the conversation's.
    const message = stream.events.find((e) => e.event === 'message.completed')!.data.message;
    const docs = await usageDocs(who);
    const titleDoc = docs.find((d) => d.call === 'title')!;
    expect(titleDoc.turnId).toMatch(/^title_/);
    expect(docs).toHaveLength(2);
    expect(titleDoc.totalTokens).toBe(t.sim.usageTotals.totalTokens - message.usage.totalTokens);
    expect(named.usage.totalTokens).toBe(message.usage.totalTokens);
    // Its reservation is gone.
    expect((await call(t.api, 'GET', '/usage', { user: who })).body.quota.reservedTokens ?? 0).toBe(0);
  });

  it('sends conversation.updated before the terminal event when the title is ready first; a resumed stream carries only the reply', async () => {
    const who = user();
    const id = await newConversation(t.api, who);
    // The reply's first chunk is held: the title call (sent once the reply's call is accepted) answers before it.
    t.sim.faults.next({ kind: 'firstChunkDelayMs', ms: 2_000 });
    const stream = await open(who, id, 'Bonjour, comment faire une tarte aux pommes ?');
    await stream.ended;
    const names = stream.events.map((e) => e.event);
    const updated = names.indexOf('conversation.updated');
    expect(updated).toBeGreaterThan(0);
    expect(names.lastIndexOf('conversation.updated')).toBe(updated);
    expect(updated).toBeLessThan(names.indexOf('message.completed'));
    const event = stream.events[updated]!;
    const stored = await conversation(who, id);
    expect(event.data.conversation).toEqual({ ...stored, updatedAt: event.data.conversation.updatedAt, messageCount: event.data.conversation.messageCount, usage: event.data.conversation.usage, etag: event.data.conversation.etag });
    expect(validate(openapi.components.schemas.ConversationUpdatedEvent!, event.data, openapi)).toEqual([]);
    expect(event.data.conversation.titleSource).toBe('auto');
    expect(event.data.conversation.title).toBe(stored.title);
    // Its id is the reply length the client holds at that point: ids never go back, and resuming from it repeats nothing.
    const lengths = stream.events.map((e) => Number.parseInt(e.id ?? '', 10));
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    const before = stream.events.slice(0, updated).filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');
    expect(event.id).toBe(String(before.length));
    const assistantId = stream.events[0]!.data.assistantMessageId as string;
    const resumed = await LiveStream.open(`${t.api}/conversations/${id}/messages/${assistantId}/stream`, { user: who, headers: { 'last-event-id': event.id! } });
    await resumed.ended;
    expect(resumed.events.map((e) => e.event)).not.toContain('conversation.updated');
    expect(before + resumed.text()).toBe(stream.text());
  });

  it.each<[string, Fault]>([
    ['a failing title call', { kind: 'status', status: 500 }],
    ['a refused (filtered) title call', { kind: 'contentFilter' }],
    ['a title call filtered mid-stream', { kind: 'filterMidStream', afterChunks: 1 }],
  ])('%s leaves the turn and the title untouched; only tokens the model reported are counted', async (_what, fault) => {
    const who = user();
    const id = await newConversation(t.api, who);
    t.sim.faults.nextFor(TITLE_CALL, fault);
    const stream = await open(who, id, 'What is the capital of France?');
    await stream.ended;
    await t.services.turns.titlesSettled();
    expect(stream.terminals().map((e) => e.event)).toEqual(['message.completed']);
    expect(stream.events.map((e) => e.event)).not.toContain('conversation.updated');
    expect(t.sim.completionRequests.filter(isTitleCall).map((r) => r.faults)).toEqual([[fault.kind]]);
    const stored = await conversation(who, id);
    expect([stored.title, stored.titleSource]).toEqual(['New conversation', null]);
    const messages = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: who })).body.items as { status: string; content: string }[];
    expect(messages.map((m) => m.status)).toEqual(['complete', 'complete']);
    expect(messages[1]!.content).toBe(stream.text());
    const usage = (await call(t.api, 'GET', '/usage', { user: who })).body;
    expect(usage.totals.totalTokens).toBe(t.sim.usageTotals.totalTokens);
    expect(usage.totals.requests).toBe(t.sim.usageTotals.requests);
  });

  it('makes no title call for a conversation the client named, nor on a second turn', async () => {
    const who = user();
    const named = await newConversation(t.api, who, { title: 'My own title' });
    await (await open(who, named, 'Hello there')).ended;
    await t.services.turns.titlesSettled();
    expect(t.sim.completionRequests.filter(isTitleCall)).toHaveLength(0);
    expect((await conversation(who, named)).titleSource).toBe('user');

    const id = await newConversation(t.api, who);
    await (await open(who, id, 'First message')).ended;
    await t.services.turns.titlesSettled();
    const first = await conversation(who, id);
    expect(first.titleSource).toBe('auto');
    await (await open(who, id, 'Second message')).ended;
    await t.services.turns.titlesSettled();
    expect(t.sim.completionRequests.map(isTitleCall)).toEqual([false, false, true, false]);
    expect((await conversation(who, id)).title).toBe(first.title);
  });

  it('a stop of the turn leaves the title call to end on its own: the title is still stored, its tokens counted', async () => {
    const who = user();
    const id = await newConversation(t.api, who);
    t.sim.faults.next({ kind: 'chunkDelayMs', ms: 200 });
    t.sim.faults.nextFor(TITLE_CALL, { kind: 'firstByteDelayMs', ms: 500 });
    const stream = await open(who, id, 'Explain how tides work');
    await stream.until((events) => events.some((e) => e.event === 'message.delta'), 'the first delta');
    const assistantId = stream.events[0]!.data.assistantMessageId as string;
    expect((await call(t.api, 'POST', `/conversations/${id}/messages/${assistantId}/stop`, { user: who })).status).toBe(202);
    await stream.ended;
    expect(stream.terminals().map((e) => e.data.message?.finishReason)).toEqual(['cancelled']);
    await t.services.turns.titlesSettled();
    expect((await conversation(who, id)).titleSource).toBe('auto');
    const docs = await usageDocs(who);
    const titleCall = t.sim.completionRequests.find(isTitleCall)!;
    expect(titleCall.status).toBe(200);
    expect(docs.find((d) => d.call === 'title')?.totalTokens).toBeGreaterThan(titleCall.promptTokens!);
  });

  it('lets a title the client sets while the title call runs win', async () => {
    const who = user();
    const id = await newConversation(t.api, who);
    t.sim.faults.nextFor(TITLE_CALL, { kind: 'firstByteDelayMs', ms: 1_000 });
    const stream = await open(who, id, 'Tell me about rivers');
    await stream.ended;
    const patched = await call(t.api, 'PATCH', `/conversations/${id}`, { user: who, body: { title: 'Rivers' } });
    expect(patched.status).toBe(200);
    await t.services.turns.titlesSettled();
    expect(t.sim.completionRequests.filter(isTitleCall)[0]?.status).toBe(200);
    const stored = await conversation(who, id);
    expect([stored.title, stored.titleSource]).toEqual(['Rivers', 'user']);
  });
});

describe('AUTO_TITLE=false', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTO_TITLE: 'false' } });
  });
  afterAll(() => t.close());

  it('makes no title call: the conversation keeps its placeholder', async () => {
    const id = await newConversation(t.api, 'untitled');
    const res = await call(t.api, 'POST', `/conversations/${id}/messages`, { user: 'untitled', body: { content: 'Hello' }, headers: { accept: 'application/json' } });
    expect(res.status).toBe(201);
    await t.services.turns.titlesSettled();
    expect(t.sim.completionRequests).toHaveLength(1);
    expect(t.sim.completionRequests.filter(isTitleCall)).toHaveLength(0);
    const stored = (await call(t.api, 'GET', `/conversations/${id}`, { user: 'untitled' })).body;
    expect([stored.title, stored.titleSource]).toEqual(['New conversation', null]);
  });
});
