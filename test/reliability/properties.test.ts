import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshot } from '../support/embeddedStore.js';
import { call, newConversation, parseSse } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/testApp.js';
import { rawRequest, type RawResponse } from './rawHttp.js';
import { anyRequest, invalidRequest, type FuzzRequest, type Targets } from './requestArbitraries.js';

/**
 * Generated requests against every route, over real sockets: never a 5xx, never a hang, always a well-formed
 * problem or contract body, and stored state moves only through requests the service accepted.
 * `FUZZ_RUNS` raises the number of runs (`npm run fuzz`); `FUZZ_SEED` replays a failure.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 0) || 0;
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const runs = (fallback: number) => (RUNS > 0 ? RUNS : fallback);
const REQUEST_TIMEOUT_MS = 8_000;

let t: TestApp;
let targets: Targets;

beforeAll(async () => {
  t = await startTestApp({ env: { SSE_PING_INTERVAL_MS: '1000' }, simulator: { replyWords: 8 } });
  t.clock.set('2026-06-01T12:00:00Z');
  const victim = 'fuzz-victim';
  const victimConversation = await newConversation(t.api, victim, { title: 'not yours' });
  await call(t.api, 'POST', `/conversations/${victimConversation}/messages`, { user: victim, body: { content: 'hello' }, headers: { accept: 'application/json' } });
  targets = {
    user: 'fuzz-user',
    own: await newConversation(t.api, 'fuzz-user', { title: 'mine' }),
    victim: victimConversation,
    missing: 'c_AAAAAAAAAAAAAAAAAAAAAA',
  };
}, 60_000);
afterAll(() => t.close());

function send(request: FuzzRequest): Promise<RawResponse> {
  return rawRequest(t.host.port, request, request.body, REQUEST_TIMEOUT_MS);
}

/** What every answer must look like, whatever was asked. */
function expectWellFormed(request: FuzzRequest, res: RawResponse): void {
  const what = `${request.method} ${request.target.slice(0, 120)} → ${res.status} ${res.body.slice(0, 300)}`;
  if (request.parserMayRefuse && (res.status === 400 || res.status === 431) && res.body === '') return; // Node's parser
  expect(res.status, what).toBeGreaterThanOrEqual(200);
  expect(res.status, what).toBeLessThan(500);
  if (request.method === 'HEAD') return;
  const type = res.headers['content-type'] ?? '';
  if (res.status >= 400) {
    expect(type, what).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body) as Record<string, unknown>;
    expect(problem.status, what).toBe(res.status);
    for (const field of ['type', 'title', 'detail', 'code']) expect(typeof problem[field], `${field} in ${what}`).toBe('string');
    expect(res.body, what).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
  } else if (res.status === 204) {
    expect(res.body, what).toBe('');
  } else if (type.startsWith('text/event-stream')) {
    const names = parseSse(res.body).events.map((e) => e.event);
    expect(names[0], what).toBe('message.created');
    expect(['message.completed', 'error'], what).toContain(names.at(-1));
  } else {
    expect(type, what).toMatch(/^application\/json/);
    expect(() => JSON.parse(res.body) as unknown, what).not.toThrow();
  }
}

/** The documents of one caller's partition. */
async function partition(userId: string): Promise<string> {
  const all = JSON.parse(await snapshot(t.container)) as { userId?: string }[];
  return JSON.stringify(all.filter((d) => d.userId === userId));
}

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

describe('generated requests', () => {
  it('a batch of invalid requests answers 4xx (reads 2xx) and changes nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(invalidRequest(targets), { minLength: 1, maxLength: 8 }), async (batch) => {
        const before = await snapshot(t.container);
        for (const request of batch) {
          const res = await send(request);
          expectWellFormed(request, res);
          if (!READ_ONLY.has(request.method)) expect(res.status, `${request.method} ${request.target.slice(0, 100)}`).toBeGreaterThanOrEqual(400);
        }
        expect(await snapshot(t.container)).toBe(before);
      }),
      { seed: SEED, numRuns: runs(60), endOnFailure: true },
    );
  }, RUNS > 0 ? 3_600_000 : 120_000);

  it('any request: well-formed answer, refused ones change nothing, and another user\'s data never changes', async () => {
    const victimBefore = await partition('fuzz-victim');
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(anyRequest(targets), async (request) => {
        const before = await snapshot(t.container);
        const res = await send(request);
        expectWellFormed(request, res);
        const key = `${res.status}${res.body ? ` ${String((JSON.parse(res.body.startsWith('{') ? res.body : '{}') as { code?: string }).code ?? '')}` : ''}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (res.status >= 400 || READ_ONLY.has(request.method)) expect(await snapshot(t.container)).toBe(before);
      }),
      { seed: SEED + 1, numRuns: runs(250), endOnFailure: true },
    );
    expect(await partition('fuzz-victim')).toBe(victimBefore);
    if (RUNS) console.log('answers seen:', Object.fromEntries([...seen].sort()));
    // The generators reach past the parser and the router into validation, identity and the handlers.
    const codes = [...seen.keys()].join(',');
    for (const code of ['validation_failed', 'not_found', 'method_not_allowed', 'unsupported_media_type', 'payload_too_large']) expect(codes).toContain(code);
    expect([...seen.keys()].some((k) => k.startsWith('200') || k.startsWith('201'))).toBe(true);
  }, RUNS > 0 ? 3_600_000 : 120_000);
});
