import type { Post } from './clientChild.js';
import type { Harness, OutboundRequest } from './harness.js';
import type { StreamResult } from './sseClient.js';
import { quantile, round } from './stats.js';

const round2 = (ms: number): number => round(ms, 2);

const headersFor = (user: string): Record<string, string> => ({ 'x-user-id': user });

/** A conversation and its owner. */
interface Conv {
  readonly id: string;
  readonly user: string;
}

/**
 * Concurrent turns belong to different users (100 concurrent turns are 100 people, each waiting on one reply):
 * one user's turns at once are capped by USER_MAX_CONCURRENT_TURNS and share that user's in-flight document, so a
 * single user with 100 turns at once would measure the reservation writes instead of the relay.
 */
let userCounter = 0;

/** Creates `n` conversations (one per concurrent turn, so turns never wait on each other's lock). */
async function conversations(h: Harness, n: number): Promise<Conv[]> {
  const ids: Conv[] = [];
  for (let i = 0; i < n; i += 1) {
    const user = `bench-user-${(userCounter += 1)}`;
    const res = await h.client.call('json', { url: `${h.api}/conversations`, body: { title: `bench ${i}` }, headers: headersFor(user) });
    if (res.status !== 201) throw new Error(`create conversation: ${res.status}`);
    ids.push({ id: res.body.id as string, user });
  }
  return ids;
}

let turnCounter = 0;
function turn(api: string, conv: Conv, content: string): Post {
  turnCounter += 1;
  return { url: `${api}/conversations/${conv.id}/messages`, body: { content }, headers: { ...headersFor(conv.user), 'idempotency-key': `bench-${turnCounter}` } };
}

/** The same completion the service asks for, straight to the simulator: the physical limit. */
function direct(simUrl: string, content: string): Post {
  return {
    url: `${simUrl}/openai/v1/chat/completions`, body: { model: 'bench', messages: [{ role: 'user', content }], stream: true, max_tokens: 1024 },
    headers: { authorization: 'Bearer bench' },
  };
}

/** Streams, all at once, read by the client process. */
const streams = (h: Harness, posts: Post[]): Promise<StreamResult[]> => h.client.call('streams', posts);

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
  /** Cosmos requests of the whole turn, up to `message.completed` (the settle happens before it is sent). */
  readonly perTurn: number;
  readonly detail: string;
}

/** Sequential depth of a set of requests: the longest chain where each starts after the previous ended. */
function depth(requests: readonly OutboundRequest[]): number {
  const sorted = [...requests].sort((a, b) => a.end - b.end);
  const chain: number[] = [];
  sorted.forEach((r, i) => {
    let best = 0;
    for (let j = 0; j < i; j += 1) if ((sorted[j] as OutboundRequest).end <= r.start) best = Math.max(best, chain[j] as number);
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
    const ids = await conversations(h, concurrency * rounds);
    const ours: number[] = [];
    const base: number[] = [];
    const tripCounts: number[] = [];
    const tripDepths: number[] = [];
    const turnCounts: number[] = [];
    let detail = '';
    // Warm-up: connections, JIT, the model's first call.
    await streams(h, Array.from({ length: concurrency }, (_, i) => direct(phase.sim.url, `warm ${i}`)));
    const warm = await conversations(h, concurrency);
    await streams(h, warm.map((id) => turn(h.api, id, 'warm up')));
    for (let round = 0; round < rounds; round += 1) {
      const batch = ids.slice(round * concurrency, (round + 1) * concurrency);
      const logFrom = h.outbound.length;
      const results = await streams(h, batch.map((id, i) => turn(h.api, id, `Question ${round}-${i}: how is the weather?`)));
      ours.push(...results.map(firstDeltaMs));
      if (concurrency === 1) {
        const sent = h.outbound.slice(logFrom);
        const upstream = sent.find((r) => r.to === 'model' && r.path.includes('/chat/completions'));
        if (upstream) {
          const before = sent.filter((r) => r.to === 'store' && r.start < upstream.start);
          tripCounts.push(before.length);
          tripDepths.push(depth(before));
          // The last round's timeline from the client's POST (clocks of both processes on `nowAbs()`).
          const sentAt = (results[0] as StreamResult).sentAt;
          const at = (t: number): number => round2(t - sentAt);
          detail = before.map((r) => `${r.method} ${r.path.replace(/\/dbs\/[^/]+\/colls\/[^/]+/, '')} (${r.kind ?? '?'}, ${at(r.start)}–${at(r.end)} ms)`).join('; ')
            + `; model call at ${at(upstream.start)} ms, its head at ${at(upstream.head)} ms; first delta at the client ${round2(firstDeltaMs(results[0] as StreamResult))} ms`;
        }
        turnCounts.push(sent.filter((r) => r.to === 'store').length);
      }
      const directs = await streams(h, batch.map((_, i) => direct(phase.sim.url, `Question ${round}-${i}: how is the weather?`)));
      base.push(...directs.map(firstChunkMs));
    }
    const ft: FirstTokenResult = {
      concurrency, samples: ours.length,
      oursP50: quantile(ours, 0.5), oursP99: quantile(ours, 0.99), baseP50: quantile(base, 0.5), baseP99: quantile(base, 0.99),
    };
    return concurrency === 1 ? { ft, trips: { requests: quantile(tripCounts, 0.5), sequential: quantile(tripDepths, 0.5), perTurn: quantile(turnCounts, 0.5), detail } } : { ft };
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

/**
 * Paces the simulator (1 ms between chunks) so each chunk travels alone; the peer process stamps every SSE frame
 * the simulator writes and the client process stamps every event it reads (both on the `nowAbs()` clock, so any
 * offset between the two processes' clocks is the same for ours and the baseline and cancels in the difference);
 * frames are matched to reads by character offset, turn after turn.
 */
export async function benchRelayLatency(h: Harness, turns: number): Promise<RelayLatency> {
  const phase = await h.phase({ replyWords: 60, chunkDelayMs: 1 });
  const latencies = (writes: { at: number; content: string }[], read: { at: number; text: string }[]): number[] => {
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
    const ids = await conversations(h, turns + 1);
    await streams(h, [turn(h.api, ids[turns] as Conv, 'warm up')]);
    await streams(h, [direct(phase.sim.url, 'warm up')]);
    await h.peers.call('stampWrites', true);
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < turns; i += 1) {
      await h.peers.call('takeWrites', undefined);
      const [r] = await streams(h, [turn(h.api, ids[i] as Conv, `Tell me about chunk ${i}.`)]);
      const oursWrites = await h.peers.call('takeWrites', undefined);
      ours.push(...latencies(oursWrites, (r as StreamResult).events.filter(isDelta).map((e) => ({ at: e.at, text: (JSON.parse(e.data) as { content: string }).content }))));
      const [d] = await streams(h, [direct(phase.sim.url, `Tell me about chunk ${i}.`)]);
      const baseWrites = await h.peers.call('takeWrites', undefined);
      base.push(...latencies(baseWrites, (d as StreamResult).events.map((e) => ({ at: e.at, text: contentOf(e.data) })).filter((e) => e.text !== '')));
    }
    return { samples: ours.length, oursP50: quantile(ours, 0.5), oursP99: quantile(ours, 0.99), baseP50: quantile(base, 0.5), baseP99: quantile(base, 0.99) };
  } finally {
    await h.peers.call('stampWrites', false);
    await phase.close();
  }
}

export interface Throughput {
  readonly turns: number;
  readonly oursChunksPerSecond: number;
  readonly baseChunksPerSecond: number;
  /** CPU time (user + system) this process, the service, spent per relayed chunk. */
  readonly serviceCpuUsPerChunk: number;
  readonly idleRssMb: number;
  readonly oursPeakRssAboveIdleMb: number;
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
 * through the service and direct (simulator → client process, the service process idle); the CPU the service
 * process spent per relayed chunk, and its peak RSS above idle.
 */
export async function benchThroughput(h: Harness, concurrent: number, replyWords: number): Promise<Throughput> {
  const phase = await h.phase({ replyWords, wordsPerChunk: 1 });
  try {
    const ids = await conversations(h, concurrent * 2);
    await streams(h, ids.slice(concurrent).map((id) => turn(h.api, id, 'warm up')));
    await streams(h, ids.slice(concurrent).map((_, i) => direct(phase.sim.url, `warm ${i}`)));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const idle = process.memoryUsage.rss();

    const cpuBefore = process.cpuUsage();
    const [ours, oursPeak] = await peakRss(() => h.client.call('counted', { posts: ids.slice(0, concurrent).map((id, i) => turn(h.api, id, `Long story ${i}`)), event: 'message.delta' }));
    const cpu = process.cpuUsage(cpuBefore);
    const oursChunks = ours.counts.reduce((n, r) => n + r.events, 0);
    const base = await h.client.call('counted', { posts: ids.slice(0, concurrent).map((_, i) => direct(phase.sim.url, `Long story ${i}`)), event: null });
    const baseChunks = base.counts.reduce((n, r) => n + r.events, 0);
    return {
      turns: concurrent,
      oursChunksPerSecond: oursChunks / (ours.ms / 1000),
      baseChunksPerSecond: baseChunks / (base.ms / 1000),
      serviceCpuUsPerChunk: (cpu.user + cpu.system) / oursChunks,
      idleRssMb: idle / 2 ** 20,
      oursPeakRssAboveIdleMb: (oursPeak - idle) / 2 ** 20,
    };
  } finally {
    await phase.close();
  }
}
