import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildServices } from '../../src/app.js';
import { call, newConversation } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A plain send plans on this instance's memory of the conversation and its messages (no reads before the model
 * call but the key's and the reservation's). Whatever another instance did meanwhile still reaches the prompt: the
 * start is conditional on the version planned on, and a turn that meets a newer one plans again on reads.
 */
describe('a turn planned on what this instance remembers', () => {
  let t: TestApp;
  const USER = 'remembered-user';

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  beforeEach(() => t.sim.reset());

  const post = (id: string, content: string) => call(t.api, 'POST', `/conversations/${id}/messages`, { user: USER, body: { content } });
  const lastPrompt = (): { role: string; content: string }[] =>
    (t.sim.completionRequests.at(-1)?.body as { messages: { role: string; content: string }[] }).messages;

  it('sends every earlier message of this instance\'s turns, as stored', async () => {
    const id = await newConversation(t.api, USER, { systemPrompt: 'Be brief.' });
    const first = await post(id, 'First question');
    expect(first.status).toBe(200);
    const firstReply = (first.events.at(-1)?.data as { message: { content: string } }).message.content;
    expect((await post(id, 'Second question')).status).toBe(200);
    expect(lastPrompt().map((m) => [m.role, m.content])).toEqual([
      ['system', 'Be brief.'], ['user', 'First question'], ['assistant', firstReply], ['user', 'Second question'],
    ]);
  });

  it("sees another instance's turn and its change of the system prompt made since", async () => {
    const id = await newConversation(t.api, USER, { systemPrompt: 'Be brief.' });
    expect((await post(id, 'Asked here')).status).toBe(200);
    const other = await buildServices(t.services.config, { clock: t.clock, container: t.container });
    try {
      const there = await other.turns.start(USER, id, { content: 'Asked on the other instance' });
      expect((await there.outcome).type).toBe('completed');
      await other.store.updateConversation(USER, id, { systemPrompt: 'Be very brief.', updatedAt: t.clock.now().toISOString() });
    } finally {
      await other.close();
    }
    const res = await post(id, 'Asked here again');
    expect(res.status).toBe(200);
    const prompt = lastPrompt();
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(prompt[0]?.content).toBe('Be very brief.');
    expect(prompt.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Asked here', 'Asked on the other instance', 'Asked here again']);
    const stored = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items as { role: string; content: string }[];
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(stored.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Asked here', 'Asked on the other instance', 'Asked here again']);
  });
});
