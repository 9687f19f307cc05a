import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, newConversation, parseSse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';

/**
 * A client that sends its turn and then reads nothing for a while: the turn must not wait for it. The reply is
 * generated and stored while the client's socket sits unread, and the client still gets all of it afterwards.
 */
let t: TestApp;
const USER = 'slow-client-user';

beforeAll(async () => {
  t = await startTestApp({ simulator: { replyWords: 4_500 } });
});
afterAll(() => t.close());

async function assistantOf(id: string): Promise<{ status: string; content: string; usage?: { totalTokens: number } } | undefined> {
  const items = (await call(t.api, 'GET', `/conversations/${id}/messages`, { user: USER })).body.items;
  return items[1];
}

it('completes and stores a long reply while the client reads nothing, then delivers all of it', async () => {
  const id = await newConversation(t.api, USER);
  const body = JSON.stringify({ content: 'Write at length.', settings: { maxTokens: 4096 } });
  const socket: Socket = connect(t.host.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.pause(); // read nothing: what the server writes piles up in socket buffers and the host's queue
  socket.write(
    `POST /api/conversations/${id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nx-user-id: ${USER}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );

  // The turn finishes on its own: the stored reply is complete with the model's usage, while nothing was read.
  let stored = await assistantOf(id);
  for (let i = 0; i < 400 && stored?.status !== 'complete'; i += 1) {
    await new Promise((r) => setTimeout(r, 25));
    stored = await assistantOf(id);
  }
  expect(stored?.status).toBe('complete');
  expect(stored!.usage!.totalTokens).toBe(t.sim.usageTotals.totalTokens);
  expect(t.sim.usageTotals.completionTokens).toBeGreaterThan(3_000);

  // Now read: every delta arrives, in order, and they add up to what was stored.
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.resume();
  await ended;
  const raw = Buffer.concat(chunks).toString('utf8');
  expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
  // (How much of the reply sat in kernel and socket buffers before the client resumed depends on the machine and
  // the Node version, so it is not asserted: what matters is that the turn finished without the client reading.)
  const payload = dechunk(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  const events = parseSse(payload).events;
  expect(events[0]!.event).toBe('message.created');
  expect(events.at(-1)!.event).toBe('message.completed');
  const text = events.filter((e) => e.event === 'message.delta').map((e) => e.data.content as string).join('');
  expect(text).toBe(stored!.content);
  expect(events.at(-1)!.data.message.content).toBe(stored!.content);
}, 30_000);

function dechunk(body: string): string {
  const buf = Buffer.from(body, 'utf8');
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(out).toString('utf8');
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
