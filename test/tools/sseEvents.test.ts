import { describe, expect, it } from 'vitest';
import { parseSseText, sseEvents, sseSplitter, type SseItem } from '../../tools/sseEvents.js';

const STREAM = 'event: message.created\ndata: {"id":"m1"}\n\n: ping\n\nevent: message.delta\ndata: {"content":\ndata: "a"}\n\ndata: [DONE]\n\n';
const ITEMS: SseItem[] = [
  { type: 'event', event: 'message.created', data: '{"id":"m1"}', id: undefined },
  { type: 'comment', text: 'ping' },
  { type: 'event', event: 'message.delta', data: '{"content":\n"a"}', id: undefined },
  { type: 'event', event: undefined, data: '[DONE]', id: undefined },
];

async function* bytes(text: string, size: number): AsyncGenerator<Uint8Array> {
  const all = new TextEncoder().encode(text);
  for (let i = 0; i < all.length; i += size) yield all.subarray(i, i + size);
}

async function collect(body: AsyncIterable<Uint8Array | string>): Promise<SseItem[]> {
  const out: SseItem[] = [];
  for await (const item of sseEvents(body)) out.push(item);
  return out;
}

describe('sseEvents', () => {
  it('reads events, multi-line data and comments from a whole text', () => {
    expect(parseSseText(STREAM)).toEqual(ITEMS);
  });

  it('gives the same items whatever the chunk boundaries, split UTF-8 characters included', async () => {
    const text = `${STREAM}event: message.delta\ndata: {"content":"é🙂"}\n\n`;
    const whole = parseSseText(text);
    expect(whole.at(-1)).toMatchObject({ data: '{"content":"é🙂"}' });
    for (const size of [1, 2, 3, 7, 64]) expect(await collect(bytes(text, size))).toEqual(whole);
  });

  it('keeps an event id', () => {
    expect(parseSseText('id: 7\nevent: a\ndata: 1\n\n')).toEqual([{ type: 'event', event: 'a', data: '1', id: '7' }]);
  });

  it('hands items out during the feed that completes them, not later', () => {
    const seen: string[] = [];
    const splitter = sseSplitter((item) => seen.push(item.type === 'event' ? item.data : item.text));
    splitter.feed('event: a\ndata: 1');
    expect(seen).toEqual([]);
    splitter.feed('\n\nevent: b\n');
    expect(seen).toEqual(['1']);
  });

  it('throws on a stream cut off inside a frame, which a browser would drop silently', async () => {
    expect(() => parseSseText('event: a\ndata: {"x":1}\n\nevent: b\ndata: {"x"')).toThrow(/inside a frame/);
    await expect(collect(bytes('event: a\ndata: 1\n', 4))).rejects.toThrow(/inside a frame/);
  });

  it('throws on a field the protocol does not have (e.g. a JSON body read as a stream)', () => {
    expect(() => parseSseText('{"status":409}\n\n')).toThrow(/Unknown field/);
  });
});
