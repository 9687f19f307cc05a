import type { PhiSimulator } from '../local/phiSimulator/startPhiSimulator.js';
import { nowAbs, type CosmosRequest, type Harness } from './harness.js';
import { postJson, postSse, type StreamResult } from './sseClient.js';
import { quantile } from './stats.js';

const USER = 'bench-user';
const headersFor = (user: string): Record<string, string> => ({ 'x-user-id': user });

/** Creates `n` conversations (one per concurrent turn, so turns never wait on each other's lock). */
async function conversations(api: string, n: number, user = USER): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const res = await postJson(`${api}/conversations`, { title: `bench ${i}` }, headersFor(user));
    if (res.status !== 201) throw new Error(`create conversation: ${res.status}`);
    ids.push(res.body.id as string);
  }
  return ids;
}

let turnCounter = 0;
function turn(api: string, conversationId: string, content: string, user = USER): Promise<StreamResult> {
  turnCounter += 1;
  return postSse(`${api}/conversations/${conversationId}/messages`, { content }, { ...headersFor(user), 'idempotency-key': `bench-${turnCounter}` });
}

/** The same completion the service asks for, straight to the simulator: the physical limit. */
function direct(sim: PhiSimulator, content: string): Promise<StreamResult> {
  return postSse(`${sim.url}/chat/completions`, { messages: [{ role: 'user', content }], stream: true, max_tokens: 1024 }, { 'api-key': 'bench' });
}

const isDelta = (e: { event: string }): boolean => e.event === 'message.delta';
function contentOf(data: string): string {
  if (data === '[DONE]') return '';
  const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
  return parsed.choices?.[0]?.delta?.content ?? '';
}
function firstDeltaMs(r: StreamResult): number {
  const e = r.events.find(isDelta);
  if (r.status !== 200 || !e) throw new Error(`turn failed: ${r.status} ${r.events.map((x) => x.event).join(',')}`);
  return e.at - r.sentAt;
}
function firstChunkMs(r: StreamResult): number {
  const e = r.events.find((x) => contentOf(x.data) !== '');
  if (r.status !== 200 || !e) throw new Error(`direct call failed: ${r.status}`);
  return e.at - r.sentAt;
}

export interface FirstTokenResult {
  readonly concurrency: number;
  readonly samples: number;
  readonly oursP50: number;
  readonly oursP99: number;
  readonly baseP50: number;
  readonly baseP99: number;
}

export interface RoundTrips {
  /** Cosmos requests between the POST and the model call, median over the turns. */
  readonly requests: number;
  /** Longest chain of requests each starting after the previous one finished: sequential round trips. */
  readonly sequential: number;
  readonly detail: string;
}

/** Sequential depth of a set of requests: the longest chain where each starts after the previous ended. */
function depth(requests: readonly CosmosRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.end - b.end);
  const chain: number[] = [];
  sorted.forEach((r, i) => {
    let best = 0;
    for (let j = 0; j < i; j += 1) if ((sorted[j] as CosmosRequest).end <= r.start) best = Math.max(best, chain[j] as number);
    chain.push(best + 1);
  });
  return Math.max(0, ...chain);
}

/**
 * First-token time through the service vs straight to the simulator, interleaved round by round; at concurrency 1
 * it also counts the Cosmos requests each turn makes before the simulator receives its completion request.
 */
export async function benchFirstToken(h: Harness, concurrency: number, rounds: number): Promise<{ ft: FirstTokenResult; trips?: RoundTrips }> {
  const phase = await h.phase({ replyWords: 20 }, { USER_DAILY_TOKEN_LIMIT: '1000000000' });
  try {
    const ids = await conversations(h.api, concurrency * rounds);
    const ours: number[] = [];
    const base: number[] = [];
    const tripCounts: number[] = [];
    const tripDepths: number[] = [];
    let detail = '';
    // Warm-up: connections, JIT, the model's first call.
    await Promise.all(Array.from({ length: concurrency }, (_, i) => direct(phase.sim, `warm ${i}`)));
    const warm = await conversations(h.api, concurrency);
    await Promise.all(warm.map((id) => turn(h.api, id, 'warm up')));
    for (let round = 0; round < rounds; round += 1) {
      const batch = ids.slice(round * concurrency, (round + 1) * concurrency);
      const startAbs = nowAbs();
      const logFrom = h.cosmosLog.length;
      const results = await Promise.all(batch.map((id, i) => turn(h.api, id, `Question ${round}-${i}: how is the weather?`)));
      ours.push(...results.map(firstDeltaMs));
      if (concurrency === 1) {
        const upstream = phase.sim.completionRequests.find((r) => r.receivedAt > startAbs);
        if (upstream) {
          const before = h.cosmosLog.slice(logFrom).filter((r) => r.start >= startAbs && r.start < upstream.receivedAt);
          tripCounts.push(before.length);
          tripDepths.push(depth(before));
          if (round === 0) detail = before.map((r) => `${r.method} ${r.url.replace(/\/dbs\/[^/]+\/colls\/[^/]+/, '')}`).join('; ');
        }
      }
      const directs = await Promise.all(batch.map((_, i) => direct(phase.sim, `Question ${round}-${i}: how is the weather?`)));
      base.push(...directs.map(firstChunkMs));
    }
    const ft: FirstTokenResult = {
      concurrency, samples: ours.length,
      oursP50: quantile(ours, 0.5), oursP99: quantile(ours, 0.99), baseP50: quantile(base, 0.5), baseP99: quantile(base, 0.99),
    };
    return concurrency === 1 ? { ft, trips: { requests: quantile(tripCounts, 0.5), sequential: quantile(tripDepths, 0.5), detail } } : { ft };
  } finally {
    await phase.close();
  }
}

/** Per-chunk latency from the simulator's write to the client's read, through the service and direct. */
export interface RelayLatency {
  readonly samples: number;
  readonly oursP50: number;
  readonly oursP99: number;
  readonly baseP50: number;
  readonly baseP99: number;
}

type Write = (this: unknown, chunk: unknown, ...rest: unknown[]) => boolean;

/**
 * Paces the simulator (1 ms between chunks) so each chunk travels alone, stamps every SSE frame the simulator writes
 * (a wrapper on `ServerResponse.prototype.write` for the simulator's string frames; the host writes bytes) and
 * matches frames to what the client read by character offset, turn after turn.
 */
export async function benchRelayLatency(h: Harness, turns: number): Promise<RelayLatency> {
  const phase = await h.phase({ replyWords: 60, chunkDelayMs: 1 });
  const { ServerResponse } = await import('node:http');
  const proto = ServerResponse.prototype as unknown as { write: Write };
  const original = proto.write;
  let writes: { at: number; content: string }[] = [];
  proto.write = function write(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === 'string' && chunk.startsWith('data: {')) {
      const content = contentOf(chunk.slice(6).trim());
      if (content !== '') writes.push({ at: performance.now(), content });
    }
    return original.call(this, chunk, ...rest);
  };
  const latencies = (read: { at: number; text: string }[]): number[] => {
    const out: number[] = [];
    let offset = 0;
    let j = 0;
    let covered = 0;
    for (const w of writes) {
      offset += w.content.length;
      while (j < read.length && covered < offset) covered += (read[j++] as { text: string }).text.length;
      if (covered >= offset) out.push((read[j - 1] as { at: number }).at - w.at);
    }
    return out;
  };
  try {
    const ids = await conversations(h.api, turns + 1);
    await turn(h.api, ids[turns] as string, 'warm up');
    await direct(phase.sim, 'warm up');
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < turns; i += 1) {
      writes = [];
      const r = await turn(h.api, ids[i] as string, `Tell me about chunk ${i}.`);
      ours.push(...latencies(r.events.filter(isDelta).map((e) => ({ at: e.at, text: (JSON.parse(e.data) as { content: string }).content }))));
      writes = [];
      const d = await direct(phase.sim, `Tell me about chunk ${i}.`);
      base.push(...latencies(d.events.map((e) => ({ at: e.at, text: contentOf(e.data) })).filter((e) => e.text !== '')));
    }
    return { samples: ours.length, oursP50: quantile(ours, 0.5), oursP99: quantile(ours, 0.99), baseP50: quantile(base, 0.5), baseP99: quantile(base, 0.99) };
  } finally {
    proto.write = original;
    await phase.close();
  }
}

export interface Throughput {
  readonly turns: number;
  readonly oursChunksPerSecond: number;
  readonly baseChunksPerSecond: number;
  readonly idleRssMb: number;
  readonly oursPeakRssAboveIdleMb: number;
  readonly basePeakRssAboveIdleMb: number;
}

async function peakRss<T>(run: () => Promise<T>): Promise<[T, number]> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const result = await run();
    return [result, Math.max(peak, process.memoryUsage.rss())];
  } finally {
    clearInterval(timer);
  }
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * `concurrent` turns at once with long replies, one word per chunk and no pacing: chunks/s the client received,
 * through the service and direct; and peak RSS above idle during each (everything runs in this one process).
 */
export async function benchThroughput(h: Harness, concurrent: number, replyWords: number): Promise<Throughput> {
  const phase = await h.phase({ replyWords, wordsPerChunk: 1 });
  try {
    const ids = await conversations(h.api, concurrent * 2);
    await Promise.all(ids.slice(concurrent).map((id) => turn(h.api, id, 'warm up')));
    await Promise.all(ids.slice(concurrent).map((_, i) => direct(phase.sim, `warm ${i}`)));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idle = process.memoryUsage.rss();

    let start = performance.now();
    const [ours, oursPeak] = await peakRss(() => Promise.all(ids.slice(0, concurrent).map((id, i) => turn(h.api, id, `Long story ${i}`))));
    const oursSeconds = (performance.now() - start) / 1000;
    const oursChunks = ours.reduce((n, r) => n + r.events.filter(isDelta).length, 0);
    gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idle2 = process.memoryUsage.rss();

    start = performance.now();
    const [base, basePeak] = await peakRss(() => Promise.all(ids.slice(0, concurrent).map((_, i) => direct(phase.sim, `Long story ${i}`))));
    const baseSeconds = (performance.now() - start) / 1000;
    const baseChunks = base.reduce((n, r) => n + r.events.filter((e) => contentOf(e.data) !== '').length, 0);
    return {
      turns: concurrent,
      oursChunksPerSecond: oursChunks / oursSeconds,
      baseChunksPerSecond: baseChunks / baseSeconds,
      idleRssMb: idle / 2 ** 20,
      oursPeakRssAboveIdleMb: (oursPeak - idle) / 2 ** 20,
      basePeakRssAboveIdleMb: (basePeak - idle2) / 2 ** 20,
    };
  } finally {
    await phase.close();
  }
}
