import ModelClient, { isUnexpected } from '@azure-rest/ai-inference';
import OpenAI from 'openai';
import { AzureKeyCredential } from '@azure/core-auth';
import { createSseStream } from '@azure/core-sse';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { replyFor, SEED_ANSWER, SEED_QUESTION } from '../../local/phiSimulator/replyFor.js';
import { titlePrompt } from '../../src/chat/titlePrompt.js';
import type { PhiSimulator } from '../../local/phiSimulator/startPhiSimulator.js';
import { llamaChatTokenizer } from '../support/llamaChatTokenizer.js';
import { startTestSimulator } from '../support/simulator.js';

const seedMessages = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: SEED_QUESTION },
];

// Phi-3.5 named, not the default model: the counts below are checked against the Llama-2 reference.
const sim: PhiSimulator = await startTestSimulator({ modelId: 'phi-3.5-mini-instruct' });
const client = ModelClient(sim.url, new AzureKeyCredential('local'), { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
const tokenizer = llamaChatTokenizer();

afterAll(() => sim.close());
beforeEach(() => sim.reset());

interface Chunk {
  object: string;
  model: string;
  choices?: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Streams a completion through the real SDK and core-sse; returns the parsed chunks, or the error thrown. */
async function streamChunks(body: Record<string, unknown>): Promise<{ status: string; chunks: Chunk[]; done: boolean; error?: unknown; raw: string[] }> {
  const res = await client.path('/chat/completions').post({ body: { messages: seedMessages, ...body, stream: true } }).asNodeStream();
  const stream = res.body;
  if (!stream) throw new Error('no body');
  if (res.status !== '200') {
    stream.resume();
    return { status: res.status, chunks: [], done: false, raw: [] };
  }
  const chunks: Chunk[] = [];
  const raw: string[] = [];
  let done = false;
  try {
    for await (const event of createSseStream(stream)) {
      raw.push(event.data);
      if (event.data === '[DONE]') {
        done = true;
        break;
      }
      chunks.push(JSON.parse(event.data) as Chunk);
    }
  } catch (error) {
    return { status: res.status, chunks, done, error, raw };
  }
  return { status: res.status, chunks, done, raw };
}

describe('the Phi simulator over HTTP with @azure-rest/ai-inference', () => {
  it('answers /info with the seed shape', async () => {
    const res = await client.path('/info').get();
    expect(isUnexpected(res)).toBe(false);
    expect(res.body).toEqual({ model_name: 'Phi-3.5-Mini-Instruct', model_type: 'chat-completions', model_provider_name: 'Microsoft' });
  });

  it('answers the seed question with the seed sentence in the seed response shape, usage equal to the reference tokenizer\'s', async () => {
    const res = await client.path('/chat/completions').post({ body: { messages: seedMessages } });
    if (isUnexpected(res)) throw new Error(res.body.error.message);
    expect(res.status).toBe('200');
    const body = res.body as unknown as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'usage']);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'Phi-3.5-Mini-Instruct' });
    expect(res.body.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: SEED_ANSWER, tool_calls: null }, finish_reason: 'stop', logprobs: null },
    ]);
    const completion = tokenizer.countText(SEED_ANSWER);
    // the seed's example prompt is 19 tokens as the model sees it
    expect(res.body.usage).toEqual({ prompt_tokens: 19, total_tokens: 19 + completion, completion_tokens: completion });
    expect(Object.keys(res.body.usage)).toEqual(['prompt_tokens', 'total_tokens', 'completion_tokens']);
    expect(sim.usageTotals).toEqual({ requests: 1, promptTokens: 19, completionTokens: completion, totalTokens: 19 + completion });
    expect(sim.requests[0]?.query['api-version']).toBe('2024-05-01-preview');
  });

  it('replies deterministically, differently for different prompts, and echoes the body model', async () => {
    const ask = async (content: string, model?: string) => {
      const res = await client.path('/chat/completions').post({ body: { messages: [{ role: 'user', content }], ...(model ? { model } : {}) } });
      if (isUnexpected(res)) throw new Error(res.body.error.message);
      return res.body;
    };
    const a1 = await ask('Tell me about rivers.');
    const a2 = await ask('Tell me about rivers.');
    const b = await ask('Tell me about mountains.', 'my-deployment');
    expect(a1.choices[0]?.message.content).toBe(a2.choices[0]?.message.content);
    expect(b.choices[0]?.message.content).not.toBe(a1.choices[0]?.message.content);
    expect(a1.model).toBe('Phi-3.5-Mini-Instruct');
    expect(b.model).toBe('my-deployment');
  });

  it('streams data-only SSE: role chunk, content chunks, a finish chunk with usage, then [DONE]', async () => {
    const result = await streamChunks({ temperature: 0, top_p: 1, max_tokens: 2048 });
    expect(result.done).toBe(true);
    const [first, ...rest] = result.chunks;
    const last = rest.at(-1);
    expect(first?.choices?.[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null });
    expect(first?.object).toBe('chat.completion.chunk');
    expect(last?.choices?.[0]?.finish_reason).toBe('stop');
    const text = rest.map((c) => c.choices?.[0]?.delta.content ?? '').join('');
    expect(text).toBe(SEED_ANSWER);
    expect(rest.length).toBeGreaterThan(10);
    expect(last?.usage).toEqual({ prompt_tokens: 19, total_tokens: 19 + tokenizer.countText(SEED_ANSWER), completion_tokens: tokenizer.countText(SEED_ANSWER) });
    expect(rest.slice(0, -1).every((c) => c.usage === undefined && c.choices?.[0]?.finish_reason === null)).toBe(true);
  });

  it('stops at max_tokens with finish_reason "length" and at a stop string with "stop"', async () => {
    const short = await streamChunks({ max_tokens: 10 });
    const last = short.chunks.at(-1);
    expect(last?.choices?.[0]?.finish_reason).toBe('length');
    expect(last?.usage?.completion_tokens).toBeLessThanOrEqual(10);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);

    const stopped = await streamChunks({ stop: ['languages'] });
    const text = stopped.chunks.map((c) => c.choices?.[0]?.delta.content ?? '').join('');
    expect(text).toBe("As of now, it's estimated that there are about 7,000 ");
    expect(stopped.chunks.at(-1)?.choices?.[0]?.finish_reason).toBe('stop');
  });

  it('refuses malformed bodies with 400 and an error body', async () => {
    const noMessages = await client.path('/chat/completions').post({ body: {} as never });
    expect(noMessages.status).toBe('400');
    expect(noMessages.body).toMatchObject({ error: { code: 'invalid_request_error', param: 'messages' } });
    const notJson = await fetch(`${sim.url}/chat/completions`, { method: 'POST', body: '{"messages": [', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_request_error' } });
  });

  it('enforces the context window and records which requests it accepted', async () => {
    const small = await startTestSimulator({ modelId: 'phi-3-mini-4k-instruct' });
    try {
      const c = ModelClient(small.url, new AzureKeyCredential('local'), { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
      const long = Array.from({ length: 3_000 }, (_, i) => `word${i % 10}`).join(' ');
      const over = await c.path('/chat/completions').post({ body: { messages: [{ role: 'user', content: long }], max_tokens: 1_024 } });
      expect(over.status).toBe('400');
      expect(over.body).toMatchObject({ error: { code: 'context_length_exceeded', param: 'messages' } });
      const fits = await c.path('/chat/completions').post({ body: { messages: [{ role: 'user', content: 'hello' }], max_tokens: 1_024 } });
      expect(fits.status).toBe('200');
      const [overRecord, fitsRecord] = small.completionRequests;
      expect(overRecord?.accepted).toBe(false);
      expect((overRecord?.promptTokens ?? 0) + (overRecord?.maxTokens ?? 0)).toBeGreaterThan(4_096);
      expect(fitsRecord?.accepted).toBe(true);
      expect(small.completionRequests.filter((r) => r.accepted).every((r) => (r.promptTokens ?? 0) + (r.maxTokens ?? 0) <= 4_096)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('sends 429 with retry-after-ms and Retry-After, then serves normally', async () => {
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 1_500 });
    const res = await client.path('/chat/completions').post({ body: { messages: seedMessages } });
    expect(res.status).toBe('429');
    expect(res.headers['retry-after-ms']).toBe('1500');
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).toMatchObject({ error: { code: '429' } });
    const next = await client.path('/chat/completions').post({ body: { messages: seedMessages } });
    expect(next.status).toBe('200');
  });

  it('applies an N-times fault to exactly N requests', async () => {
    sim.faults.next({ kind: 'status', status: 503 }, 2);
    const statuses: string[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await client.path('/chat/completions').post({ body: { messages: seedMessages } })).status);
    expect(statuses).toEqual(['503', '503', '200']);
    expect(sim.faults.pending).toBe(0);
  });

  it('applies a fault keyed on max_tokens only to the requests that ask for that many; others take the unkeyed ones in order', async () => {
    sim.faults.nextFor({ maxTokens: 32 }, { kind: 'status', status: 500 });
    sim.faults.next({ kind: 'status', status: 503 });
    const post = (maxTokens: number) => client.path('/chat/completions').post({ body: { messages: seedMessages, max_tokens: maxTokens } });
    const statuses = [(await post(100)).status, (await post(100)).status, (await post(32)).status, (await post(32)).status];
    expect(statuses).toEqual(['503', '200', '500', '200']);
    expect(sim.completionRequests.map((r) => r.faults)).toEqual([['status'], [], ['status'], []]);
  });

  it('sends the seed content-filter body', async () => {
    sim.faults.next({ kind: 'contentFilter' });
    const res = await client.path('/chat/completions').post({ body: { messages: seedMessages } });
    expect(res.status).toBe('400');
    expect(res.body).toEqual({
      error: {
        message: "The response was filtered due to the prompt triggering Microsoft's content management policy. Please modify your prompt and retry.",
        type: null,
        param: 'prompt',
        code: 'content_filter',
        status: 400,
      },
    });
  });

  it('drops the connection after N chunks', async () => {
    sim.faults.next({ kind: 'dropAfterChunks', chunks: 3 });
    const result = await streamChunks({});
    expect(result.chunks).toHaveLength(3);
    expect(result.done).toBe(false);
  });

  it('leaves usage out on noUsage, and moves it to a choices-less chunk on chunkWithoutChoices', async () => {
    sim.faults.next({ kind: 'noUsage' });
    const none = await streamChunks({});
    expect(none.done).toBe(true);
    expect(none.chunks.some((c) => c.usage)).toBe(false);
    expect(sim.usageTotals.requests).toBe(0);

    sim.faults.next({ kind: 'chunkWithoutChoices' });
    const moved = await streamChunks({});
    expect(moved.chunks.some((c) => c.choices === undefined)).toBe(true);
    const last = moved.chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.prompt_tokens).toBe(19);
  });

  it('sends an unparsable line on garbageLine', async () => {
    sim.faults.next({ kind: 'garbageLine' });
    const result = await streamChunks({}).catch((e: unknown) => ({ error: e, chunks: [] }));
    // streamChunks JSON.parse fails on the garbage: the stream itself was well-formed SSE
    expect(result.error).toBeInstanceOf(SyntaxError);
  });

  it('hangs after the content on neverEnd (no finish chunk, no [DONE])', async () => {
    sim.faults.next([{ kind: 'neverEnd' }]);
    const res = await client.path('/chat/completions').post({ body: { messages: seedMessages, stream: true } }).asNodeStream();
    const stream = res.body;
    if (!stream) throw new Error('no body');
    const seen: string[] = [];
    const iterator = createSseStream(stream)[Symbol.asyncIterator]();
    const contentChunks = SEED_ANSWER.split(' ').length;
    for (let i = 0; i < 1 + contentChunks; i += 1) seen.push(((await iterator.next()).value as { data: string }).data);
    const parsed = seen.map((d) => JSON.parse(d) as Chunk);
    expect(parsed.every((c) => c.choices?.[0]?.finish_reason === null)).toBe(true);
    const pending = await Promise.race([iterator.next().then(() => 'more'), new Promise((r) => setTimeout(() => r('silent'), 200))]);
    expect(pending).toBe('silent');
    stream.destroy();
  });

  it('delays the first byte and the chunks when asked, in order', async () => {
    sim.faults.next([{ kind: 'firstByteDelayMs', ms: 100 }, { kind: 'chunkDelayMs', ms: 5 }]);
    const started = performance.now();
    const result = await streamChunks({});
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(result.done).toBe(true);
    expect(sim.completionRequests[0]?.faults).toEqual(['firstByteDelayMs', 'chunkDelayMs']);
  });

  it('ends a stream with content_filter mid-stream on filterMidStream', async () => {
    sim.faults.next({ kind: 'filterMidStream', afterChunks: 2 });
    const result = await streamChunks({});
    expect(result.chunks.at(-1)?.choices?.[0]?.finish_reason).toBe('content_filter');
    expect(result.chunks.filter((c) => c.choices?.[0]?.delta.content)).toHaveLength(2);
  });

  it('counts with the model family\'s tokenizer: Phi-3-small uses cl100k', async () => {
    const small = await startTestSimulator({ modelId: 'phi-3-small-8k-instruct' });
    try {
      const c = ModelClient(small.url, new AzureKeyCredential('local'), { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
      const info = await c.path('/info').get();
      expect(info.body).toMatchObject({ model_name: 'Phi-3-small-8k-Instruct' });
      const res = await c.path('/chat/completions').post({ body: { messages: seedMessages } });
      if (isUnexpected(res)) throw new Error(res.body.error.message);
      // cl100k encodes the seed prompt differently from Llama-2's 19
      expect(res.body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(res.body.usage.prompt_tokens).not.toBe(19);
    } finally {
      await small.close();
    }
  });

  it('checks the key only when configured with one', async () => {
    const keyed = await startTestSimulator({ apiKey: 'secret' });
    try {
      const wrong = ModelClient(keyed.url, new AzureKeyCredential('nope'), { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
      const right = ModelClient(keyed.url, new AzureKeyCredential('secret'), { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
      expect((await wrong.path('/info').get()).status).toBe('401');
      expect((await right.path('/info').get()).status).toBe('200');
    } finally {
      await keyed.close();
    }
  });
});

describe('the Phi simulator over the OpenAI v1 wire with the openai package', () => {
  const v1 = (url: string, apiKey = 'local') => new OpenAI({ baseURL: url, apiKey, maxRetries: 0, organization: null, project: null });
  const openai = v1(sim.openaiUrl);

  it('streams OpenAI chunks: role, content, finish, then usage in a chunk of its own with choices: [] when include_usage asks', async () => {
    const stream = await openai.chat.completions.create({
      model: 'my-deployment', messages: seedMessages, stream: true, stream_options: { include_usage: true }, max_tokens: 2048,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'my-deployment')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(SEED_ANSWER);
    const [finish, last] = chunks.slice(-2);
    expect(finish?.choices[0]?.finish_reason).toBe('stop');
    expect(finish?.usage).toBeUndefined();
    const completion = tokenizer.countText(SEED_ANSWER);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 19, total_tokens: 19 + completion, completion_tokens: completion });
    expect(sim.usageTotals.totalTokens).toBe(19 + completion);
    expect(sim.completionRequests.map((r) => [r.wire, r.path, r.status])).toEqual([['openai', '/openai/v1/chat/completions', 200]]);
  });

  it('sends no usage unless asked, under any prefix ending in /v1', async () => {
    const stream = await v1(`${sim.url}/v1`).chat.completions.create({ model: 'm', messages: seedMessages, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(sim.completionRequests[0]?.path).toBe('/v1/chat/completions');
  });

  it('answers a JSON completion with usage', async () => {
    const res = await openai.chat.completions.create({ model: 'm', messages: seedMessages });
    expect(res.choices[0]?.message.content).toBe(SEED_ANSWER);
    expect(res.usage?.prompt_tokens).toBe(19);
  });

  it('requires model (400 naming it)', async () => {
    const refused = await openai.chat.completions.create({ messages: seedMessages } as never).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, param: 'model' });
  });

  it('checks the bearer key when configured with one; api-key alone is not the v1 wire\'s', async () => {
    const keyed = await startTestSimulator({ apiKey: 'secret' });
    try {
      const wrong = await v1(keyed.openaiUrl, 'nope').chat.completions.create({ model: 'm', messages: seedMessages }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
      const right = await v1(keyed.openaiUrl, 'secret').chat.completions.create({ model: 'm', messages: seedMessages });
      expect(right.choices[0]?.finish_reason).toBe('stop');
      const apiKeyHeader = await fetch(`${keyed.openaiUrl}/chat/completions`, {
        method: 'POST', headers: { 'api-key': 'secret', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', messages: seedMessages }),
      });
      expect(apiKeyHeader.status).toBe(401);
    } finally {
      await keyed.close();
    }
  });

  it('plays the same faults: 429 with its retry-after headers, the content-filter body, a drop', async () => {
    sim.faults.next({ kind: 'status', status: 429, retryAfterMs: 1_500 });
    const throttled = await openai.chat.completions.create({ model: 'm', messages: seedMessages }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(OpenAI.RateLimitError);
    expect((throttled as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after-ms')).toBe('1500');

    sim.faults.next({ kind: 'contentFilter' });
    const filtered = await openai.chat.completions.create({ model: 'm', messages: seedMessages }).catch((e: unknown) => e);
    expect(filtered).toMatchObject({ status: 400, code: 'content_filter', param: 'prompt' });

    sim.faults.next({ kind: 'dropAfterChunks', chunks: 3 });
    const seen: string[] = [];
    const dropped = await (async () => {
      for await (const chunk of await openai.chat.completions.create({ model: 'm', messages: seedMessages, stream: true })) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['', 'As', ' of']);
    expect(dropped).toBeInstanceOf(Error);
    expect(sim.completionRequests.map((r) => r.faults)).toEqual([['status'], ['contentFilter'], ['dropAfterChunks']]);
  });
});

describe('the Phi simulator names a conversation the way a model would', () => {
  it('answers the title call with the first words of the message, with or without a system role', () => {
    const withSystem = titlePrompt('plan a trip to Lisbon in May, please. Then more words follow here.', { supportsSystemMessages: true });
    const folded = titlePrompt('¿Cuántas lenguas hay en el mundo?', { supportsSystemMessages: false });
    expect(replyFor(withSystem.messages, 40)).toBe('Plan a trip to Lisbon in');
    expect(replyFor(folded.messages, 40)).toBe('¿Cuántas lenguas hay en el mundo');
    // Any other prompt still gets the usual reply.
    expect(replyFor([{ role: 'user', content: 'plan a trip to Lisbon' }], 3)).toMatch(/^This is a reply from the local Phi simulator\. \w+ \w+ \w+\.$/);
  });
});
