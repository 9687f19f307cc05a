import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_START, freePort, startBuiltApp } from '../support/builtApp.js';
import { call, newConversation } from '../support/http.js';
import { LiveStream } from '../support/liveStream.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * Two instances of the service on one store: A is the test app in this process, B the built app (`npm start`'s
 * entry point) in its own process, both on the same embedded Cosmos server and the same simulator. Neither knows
 * the other's running turns: a stop or a resume that lands on the other one goes through the store.
 */

const LOCK_SECONDS = 10;
let a: TestApp;
let b: { api: string; child: ChildProcess };
let users = 0;
const newUser = () => `two-instances-${(users += 1)}`;

beforeAll(async () => {
  expect(existsSync(BUILT_START), `${BUILT_START} is missing: run npm run build`).toBe(true);
  const env = {
    SSE_PING_INTERVAL_MS: '200', STREAM_CHECKPOINT_MS: '1000', TURN_LOCK_SECONDS: String(LOCK_SECONDS),
    PHI_RETRY_BUDGET_MS: '1000', PHI_FIRST_BYTE_TIMEOUT_MS: '2000', PHI_IDLE_TIMEOUT_MS: '2000',
    // As in startTestApp: no title calls beside the turns whose requests and usage these tests count.
    AUTO_TITLE: 'false',
  };
  a = await startTestApp({ simulator: { replyWords: 80 }, env });
  const port = await freePort();
  const started = await startBuiltApp({
    ...env, PORT: String(port), AUTH_MODE: 'dev',
    PHI_API: 'openai', PHI_ENDPOINT: a.sim.openaiUrl, PHI_DEPLOYMENT: a.sim.model.id, PHI_MODEL: a.sim.model.id, PHI_API_KEY: 'test-key',
    COSMOS_ENDPOINT: a.cosmos.endpoint, COSMOS_KEY: a.cosmos.key, COSMOS_DATABASE: a.services.config.cosmos.database,
  });
  b = { api: `http://127.0.0.1:${port}/api`, child: started.child };
}, 60_000);
afterAll(async () => {
  if (b && b.child.exitCode === null && b.child.signalCode === null) {
    const exited = new Promise((resolve) => b.child.once('exit', resolve));
    b.child.kill('SIGTERM');
    await exited;
  }
  await a?.close();
});

const post = (api: string, user: string, id: string) => LiveStream.open(`${api}/conversations/${id}/messages`, { method: 'POST', user, body: { content: 'Tell me a long story.' } });
/** The stored reply as a stream's terminal event shows it: listings add `siblingIds`, events do not. */
const storedReply = async (user: string, id: string) => {
  const { siblingIds: _siblings, ...reply } = (await call(a.api, 'GET', `/conversations/${id}/messages`, { user })).body.items[1];
  return reply;
};

async function stopRequestedAt(user: string, turnId: string): Promise<number> {
  const { resource } = await a.container.item(`stop_${turnId}`, user).read<{ requestedAt: string }>();
  return Date.parse(resource!.requestedAt);
}

describe('two instances on one store', () => {
  it('a stop sent to the other instance ends the turn within 2 s, with the model connection closed', async () => {
    const user = newUser();
    const id = await newConversation(a.api, user);
    a.sim.reset();
    a.sim.faults.next({ kind: 'chunkDelayMs', ms: 50 });
    const s = await post(a.api, user, id);
    await s.until((events) => events.filter((e) => e.event === 'message.delta').length >= 5, 'five deltas');
    const messageId = s.events[0]!.data.assistantMessageId as string;
    const res = await call(b.api, 'POST', `/conversations/${id}/messages/${messageId}/stop`, { user });
    expect(res.status, res.raw).toBe(202);
    // B does not run the turn: it answers with the message as stored now, still streaming.
    expect(res.body.status).toBe('streaming');
    await s.ended;
    expect(s.terminals().map((e) => e.event)).toEqual(['message.completed']);
    const final = s.events.at(-1)!.data.message;
    expect(final).toMatchObject({ status: 'incomplete', finishReason: 'cancelled', content: s.text() });
    expect(await storedReply(user, id)).toEqual(final);
    const [request] = a.sim.completionRequests;
    expect(request!.closedEarly).toBe(true);
    // Within 2 s, from the store's record of the stop to the simulator's record of its connection closing (both
    // wall-clock on this machine); the contract's bound plus a little room for a loaded machine.
    const { resource: message } = await a.container.item(messageId, user).read<{ turnId: string }>();
    const tookMs = request!.closedAt! - (await stopRequestedAt(user, message!.turnId));
    console.log(`stop through the store: model connection closed ${Math.round(tookMs)} ms after the stop was recorded`);
    expect(tookMs).toBeLessThanOrEqual(2_500);
    // The lock is free on both instances.
    const next = await call(b.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Next.' }, headers: { accept: 'application/json' } });
    expect(next.status, next.raw).toBe(201);
  }, 30_000);

  it('a resume on the other instance yields exactly the stored reply, from any id the client held', async () => {
    const user = newUser();
    const id = await newConversation(a.api, user);
    a.sim.faults.next({ kind: 'chunkDelayMs', ms: 30 });
    const s = await post(a.api, user, id);
    await s.until((events) => events.length >= 1, 'created');
    const messageId = s.events[0]!.data.assistantMessageId as string;
    const resumes: { held: string; stream: LiveStream }[] = [];
    for (const index of [0, 3, 10, 25]) {
      await s.until((events) => events.length > index, `event ${index}`);
      resumes.push({
        held: s.events.slice(0, index + 1).filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join(''),
        stream: await LiveStream.open(`${b.api}/conversations/${id}/messages/${messageId}/stream`, { user, headers: { 'last-event-id': s.events[index]!.id! } }),
      });
    }
    await s.ended;
    const reply = await storedReply(user, id);
    expect(reply.status).toBe('complete');
    for (const { held, stream } of resumes) {
      await stream.ended;
      expect(stream.status).toBe(200);
      expect(held + stream.text()).toBe(reply.content);
      expect(stream.terminals()).toEqual([s.events.at(-1)]);
    }
    // After the end, B replays the finished reply whole.
    const whole = await LiveStream.open(`${b.api}/conversations/${id}/messages/${messageId}/stream`, { user });
    await whole.ended;
    expect(whole.text()).toBe(reply.content);
  }, 30_000);

  it("a stop of a reply whose instance died settles it from what was saved: 200, usage once, the lock freed", async () => {
    const user = newUser();
    const id = await newConversation(a.api, user);
    a.sim.faults.next({ kind: 'chunkDelayMs', ms: 100 });
    const s = await post(b.api, user, id);
    await s.until((events) => events.filter((e) => e.event === 'message.delta').length >= 20, 'twenty deltas');
    const messageId = s.events[0]!.data.assistantMessageId as string;
    // A checkpoint has landed (every second), then B dies.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const exited = new Promise((resolve) => b.child.once('exit', resolve));
    b.child.kill('SIGKILL');
    await exited;
    const saved = await storedReply(user, id);
    expect(saved.status).toBe('streaming');
    expect(saved.content.length).toBeGreaterThan(0);
    expect(s.text().startsWith(saved.content)).toBe(true);
    // Before the lease ends, A can only record the stop; after it, A settles the lost turn.
    expect((await call(a.api, 'POST', `/conversations/${id}/messages/${messageId}/stop`, { user })).status).toBe(202);
    a.clock.advance((LOCK_SECONDS + 1) * 1_000);
    const first = await call(a.api, 'POST', `/conversations/${id}/messages/${messageId}/stop`, { user });
    const second = await call(a.api, 'POST', `/conversations/${id}/messages/${messageId}/stop`, { user });
    expect(first.status, first.raw).toBe(200);
    expect(first.body).toMatchObject({ status: 'incomplete', content: saved.content, error: { code: 'instance_lost' }, usage: { estimated: true } });
    expect(second.body).toEqual(first.body);
    const usage = (await call(a.api, 'GET', '/usage', { user })).body.totals;
    expect(usage).toMatchObject({ totalTokens: first.body.usage.totalTokens, requests: 1 });
    const next = await call(a.api, 'POST', `/conversations/${id}/messages`, { user, body: { content: 'Again?' }, headers: { accept: 'application/json' } });
    expect(next.status, next.raw).toBe(201);
  }, 30_000);
});
