/**
 * The reconnect arithmetic of a reply stream, on scripted event streams: which bytes a reconnect sends again is the
 * service's business, handing each piece on once is the client's. The same paths over real sockets, through a cut
 * connection, are in chatClient.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { replyStream, type ReplyTransport } from '../../clients/typescript/src/ReplyStream.js';
import type { ChatEvent, Message } from '../../clients/typescript/src/index.js';

const frame = (event: string, data: unknown, id?: number) => `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const created = (id?: number) => frame('message.created', { userMessage: { id: 'm_u', role: 'user', content: 'q' }, assistantMessageId: 'm_a' }, id);
const delta = (content: string, id?: number) => frame('message.delta', { content }, id);
const completed = (content: string, id?: number) => frame('message.completed', { message: { id: 'm_a', role: 'assistant', status: 'complete', content } }, id);

/** A response whose body sends `frames`, then breaks as a dropped connection does (or ends, with `end`). */
function eventStream(frames: string[], end: 'drop' | 'end' = 'end'): Response {
  const encoder = new TextEncoder();
  const queue = [...frames];
  // One frame per read, the break on the read after the last: erroring sooner would discard frames still queued.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next !== undefined) controller.enqueue(encoder.encode(next));
      else if (end === 'end') controller.close();
      else controller.error(new TypeError('network error'));
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

async function collect(stream: AsyncIterable<ChatEvent>) {
  const events: ChatEvent[] = [];
  for await (const e of stream) events.push(e);
  const text = events.flatMap((e) => (e.type === 'message.delta' ? [e.content] : [])).join('');
  return { events, text };
}

function transport(start: Response[], resume: (lastEventId: string | undefined) => Response): ReplyTransport & { resumes: (string | undefined)[] } {
  const resumes: (string | undefined)[] = [];
  return {
    resumes,
    start: async () => start.shift() ?? Promise.reject(new TypeError('no more')),
    resume: async (_id, lastEventId) => {
      resumes.push(lastEventId);
      return resume(lastEventId);
    },
    stop: async () => ({ id: 'm_a' }) as Message,
  };
}

describe('a reply stream that loses its connection', () => {
  it('resumes from the last event id and hands on the rest once', async () => {
    const t = transport(
      [eventStream([created(1), delta('Hello', 2), delta(', wor', 3)], 'drop')],
      () => eventStream([delta('ld', 4), completed('Hello, world', 5)]),
    );
    const { events, text } = await collect(replyStream(t));
    expect(t.resumes).toEqual(['3']);
    expect(text).toBe('Hello, world');
    expect(events.map((e) => e.type)).toEqual(['message.created', 'message.delta', 'message.delta', 'message.delta', 'message.completed']);
  });

  it('cuts what a resume without ids sends again, and resumes after a stream that ended without its terminal event', async () => {
    const t = transport(
      [eventStream([created(), delta('Hello'), delta(', wor')], 'end')],
      () => eventStream([delta('Hel'), delta('lo, w'), delta('orld'), completed('Hello, world')]),
    );
    const { text, events } = await collect(replyStream(t));
    expect(t.resumes).toEqual([undefined]);
    expect(text).toBe('Hello, world');
    expect(events.filter((e) => e.type === 'message.created')).toHaveLength(1);
  });

  it('retries the POST when it failed on the network, and completes a replay that carries no deltas from its message', async () => {
    const t = transport([eventStream([], 'drop'), eventStream([created(), completed('Stored reply')])], () => {
      throw new Error('not resumed: the reply id was never seen');
    });
    const { text, events } = await collect(replyStream(t));
    expect(text).toBe('Stored reply');
    expect(events.at(-1)).toMatchObject({ type: 'message.completed', message: { content: 'Stored reply' } });
  });

  it('gives up with connection_lost after its reconnects run out', async () => {
    const t = transport([eventStream([created(1)], 'drop')], () => eventStream([], 'drop'));
    const failure = await collect(replyStream(t, { maxReconnects: 2 })).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'connection_lost' });
    expect(t.resumes).toEqual(['1', '1']);
  });

  it('asks to stop once the reply id is known, when stop() came first', async () => {
    let stopped: string | undefined;
    const t = transport([eventStream([created(1), delta('Hi', 2), completed('Hi', 3)])], () => eventStream([]));
    t.stop = async (id) => {
      stopped = id;
      return { id } as Message;
    };
    const stream = replyStream(t);
    const stop = stream.stop();
    await collect(stream);
    expect(await stop).toMatchObject({ id: 'm_a' });
    expect(stopped).toBe('m_a');
  });
});
