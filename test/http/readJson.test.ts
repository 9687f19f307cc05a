import functions, { type HttpRequestInit } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/chat/errors.js';
import { readJson } from '../../src/http/request.js';

const { HttpRequest } = functions;
const KIB = 1024;

/**
 * A request as the worker builds it in streaming mode: the body is a live stream, here one that counts its reads and
 * serves no more than `gateAt` chunks until `open()` is called (a reader that needs more never finishes).
 */
function streamingRequest(chunks: number, chunkBytes: number, headers: Record<string, string> = {}, gateAt = chunks) {
  let pulled = 0;
  let served = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (served === gateAt) await gate;
      if (served === chunks) {
        controller.close();
        return;
      }
      served += 1;
      pulled += chunkBytes;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x61));
    },
  }, { highWaterMark: 0 });
  const nativeRequest = new Request('http://localhost/api/conversations', {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, duplex: 'half',
  });
  const init = { nativeRequest, params: {} } as HttpRequestInit;
  return { request: new HttpRequest(init), pulled: () => pulled, open };
}

describe('readJson on a streamed body', () => {
  it('refuses a chunked body with 413 once it passes the limit, having kept at most the limit and one chunk', async () => {
    // 80 MiB, no Content-Length; only 17 chunks (1 MiB + 64 KiB) are served until the refusal is in.
    const { request, pulled, open } = streamingRequest(1_280, 64 * KIB, {}, 17);
    const error: unknown = await readJson(request, 1_024 * KIB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).code).toBe('payload_too_large');
    expect((error as ChatError).extra).toMatchObject({ limit: 1_024 * KIB });
    expect(pulled()).toBe(17 * 64 * KIB);
    // The rest is read and dropped (not cancelled: that would reset the connection before the 413 is written).
    open();
    for (let i = 0; i < 1_000 && pulled() < 80 * 1_024 * KIB; i += 1) await new Promise((r) => setImmediate(r));
    expect(pulled()).toBe(80 * 1_024 * KIB);
  });

  it('refuses a declared Content-Length over the limit without reading a byte', async () => {
    const { request, pulled } = streamingRequest(20, 64 * KIB, { 'content-length': String(20 * 64 * KIB) });
    await expect(readJson(request, 1_024 * KIB)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(pulled()).toBe(0);
  });

  it('reads a body of exactly the limit, in pieces', async () => {
    const json = `{"title":"${'x'.repeat(1_000 - 12)}"}`;
    const bytes = new TextEncoder().encode(json);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 7) controller.enqueue(bytes.slice(i, i + 7));
        controller.close();
      },
    });
    const nativeRequest = new Request('http://localhost/x', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' });
    await expect(readJson(new HttpRequest({ nativeRequest, params: {} } as HttpRequestInit), 1_000)).resolves.toEqual(JSON.parse(json));
  });
});
