import { describe, expect, it } from 'vitest';
import { formatEvent, sseFrames, type SseEvent } from '../../src/http/sse.js';
import { parseSse } from '../support/http.js';

const options = {
  pingIntervalMs: 20,
  terminal: new Set(['done', 'error']),
  onBroken: (error: unknown): SseEvent => ({ event: 'error', data: { message: error instanceof Error ? error.message : 'broken' } }),
};

async function readAll(body: AsyncIterable<Uint8Array>): Promise<{ text: string; chunks: number }> {
  const decoder = new TextDecoder();
  let text = '';
  let chunks = 0;
  for await (const chunk of body) {
    chunks += 1;
    text += decoder.decode(chunk, { stream: true });
  }
  return { text, chunks };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('formatEvent', () => {
  it('writes an event line and one data line of JSON, escaping newlines inside the data', () => {
    expect(formatEvent({ event: 'message.delta', data: { content: 'a\nb\r\nc' } })).toBe(
      'event: message.delta\ndata: {"content":"a\\nb\\r\\nc"}\n\n',
    );
  });

  it('refuses an event name with a line break', () => {
    expect(() => formatEvent({ event: 'x\ny', data: 1 })).toThrow(/CR or LF/);
  });
});

describe('sseFrames', () => {
  it('sends the events in order and nothing after the terminal one', async () => {
    async function* source(): AsyncGenerator<SseEvent> {
      yield { event: 'a', data: 1 };
      yield { event: 'done', data: 2 };
      yield { event: 'late', data: 3 };
    }
    const { events } = parseSse((await readAll(sseFrames(source(), options))).text);
    expect(events).toEqual([{ event: 'a', data: 1 }, { event: 'done', data: 2 }]);
  });

  it('ends a source that throws with exactly one error event', async () => {
    async function* source(): AsyncGenerator<SseEvent> {
      yield { event: 'a', data: 1 };
      throw new Error('upstream broke');
    }
    const { events } = parseSse((await readAll(sseFrames(source(), options))).text);
    expect(events).toEqual([{ event: 'a', data: 1 }, { event: 'error', data: { message: 'upstream broke' } }]);
  });

  it('adds the terminal event when the source just stops', async () => {
    async function* source(): AsyncGenerator<SseEvent> {
      yield { event: 'a', data: 1 };
    }
    const { events } = parseSse((await readAll(sseFrames(source(), options))).text);
    expect(events.map((e) => e.event)).toEqual(['a', 'error']);
  });

  it('pings while the source is silent, and only then', async () => {
    async function* source(): AsyncGenerator<SseEvent> {
      yield { event: 'a', data: 1 };
      await sleep(300);
      yield { event: 'done', data: 2 };
    }
    const { text } = await readAll(sseFrames(source(), options));
    const { events, pings } = parseSse(text);
    expect(events.map((e) => e.event)).toEqual(['a', 'done']);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(text.indexOf(': ping')).toBeGreaterThan(text.indexOf('event: a'));
  });

  it('hands a slow reader everything buffered as one chunk, in order', async () => {
    async function* source(): AsyncGenerator<SseEvent> {
      for (let i = 0; i < 100; i += 1) yield { event: 'n', data: i };
      yield { event: 'done', data: 'end' };
    }
    const body = sseFrames(source(), options)[Symbol.asyncIterator]();
    await sleep(50);
    const decoder = new TextDecoder();
    let text = '';
    let chunks = 0;
    for (let r = await body.next(); !r.done; r = await body.next()) {
      chunks += 1;
      text += decoder.decode(r.value);
    }
    const { events } = parseSse(text);
    expect(events).toHaveLength(101);
    expect(events.slice(0, 100).map((e) => e.data)).toEqual([...Array(100).keys()]);
    expect(chunks).toBeLessThan(10);
  });

  it('keeps reading the source after the reader leaves', async () => {
    let produced = 0;
    async function* source(): AsyncGenerator<SseEvent> {
      for (let i = 0; i < 5; i += 1) {
        await sleep(5);
        produced += 1;
        yield { event: 'n', data: i };
      }
      yield { event: 'done', data: null };
    }
    const body = sseFrames(source(), options)[Symbol.asyncIterator]();
    await body.next();
    await body.return?.();
    await sleep(100);
    expect(produced).toBe(5);
  });
});
