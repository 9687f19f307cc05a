/**
 * `npm run load`: 100 concurrent streaming turns over 20 callers × 5 conversations, for a fixed number of rounds,
 * against the local host (`node dist/local/start.js`, its own process, as one Functions instance would be), with the
 * embedded Cosmos store and the Phi simulator in this process, then checks that nothing was lost:
 * every conversation's history complete and in order, usage per caller equal to what the simulator reported, no
 * error but the expected 409s. Prints throughput and memory. Not a test: figures depend on the machine.
 *
 * Settings (environment): LOAD_CALLERS (20), LOAD_CONVERSATIONS (5 per caller), LOAD_ROUNDS (5),
 * LOAD_CHUNK_DELAY_MS (5: the simulator's pause between chunks), LOAD_REPLY_WORDS (40), LOAD_APP_NODE_ARGS (extra
 * node flags for the app process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { startEmbeddedCosmos } from '../local/embeddedCosmos.js';
import { startPhiSimulator } from '../local/phiSimulator/startPhiSimulator.js';
import { sseEvents } from '../tools/sseEvents.js';

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const CALLERS = num('LOAD_CALLERS', 20);
const PER_CALLER = num('LOAD_CONVERSATIONS', 5);
const ROUNDS = num('LOAD_ROUNDS', 5);
const CHUNK_DELAY_MS = num('LOAD_CHUNK_DELAY_MS', 5);
const REPLY_WORDS = num('LOAD_REPLY_WORDS', 40);

interface Usage { promptTokens: number; completionTokens: number; totalTokens: number }
interface Event { event: string; data: Record<string, unknown> }
interface Turn { caller: string; conversation: string; content: string; reply: string; usage: Usage; deltas: number }

const problems: string[] = [];
const fail = (message: string): void => {
  if (problems.length < 50) problems.push(message);
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const [cosmos, sim] = await Promise.all([
    startEmbeddedCosmos(),
    startPhiSimulator({ replyWords: REPLY_WORDS, chunkDelayMs: CHUNK_DELAY_MS }),
  ]);
  const port = await freePort();
  const nodeArgs = (process.env.LOAD_APP_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const app = spawn(process.execPath, [...nodeArgs, 'dist/local/start.js'], {
    env: {
      ...process.env,
      PORT: String(port), PHI_ENDPOINT: sim.url, PHI_API_KEY: 'load', PHI_MODEL: sim.model.id,
      COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, COSMOS_DATABASE: `load-${randomUUID()}`,
      PHI_MAX_CONCURRENCY: String(CALLERS * PER_CALLER + 10), AUTH_MODE: 'dev',
      // Each caller drives all its conversations at once, double taps included: the cap must let all of them in.
      USER_MAX_CONCURRENT_TURNS: String(2 * PER_CALLER),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const appErrors: string[] = [];
  app.stderr.setEncoding('utf8').on('data', (text: string) => appErrors.push(...text.split('\n').filter((l) => l.startsWith('['))));
  await new Promise<void>((resolve, reject) => {
    app.once('exit', (code) => reject(new Error(`the app exited with ${code}: ${appErrors.join('\n')}`)));
    app.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (text.includes('listening on')) resolve();
    });
  });
  app.stdout.resume();
  const api = `http://127.0.0.1:${port}/api`;
  const appRss = (): number => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0; // not Linux: no figure
    }
  };
  const headers = (user: string) => ({ 'x-user-id': user, 'content-type': 'application/json' });

  const callers = Array.from({ length: CALLERS }, (_, i) => `load-user-${i}`);
  const conversations = new Map<string, string[]>();
  for (const caller of callers) {
    const ids: string[] = [];
    for (let j = 0; j < PER_CALLER; j += 1) {
      const res = await fetch(`${api}/conversations`, { method: 'POST', headers: headers(caller), body: JSON.stringify({ title: `c${j}` }) });
      ids.push(((await res.json()) as { id: string }).id);
    }
    conversations.set(caller, ids);
  }

  const turns: Turn[] = [];
  const statuses = new Map<number, number>();
  let expected409 = 0;
  let rssPeak = appRss();
  const rssStart = rssPeak;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, appRss());
  }, 50);
  const firstDelta: number[] = [];

  async function turn(caller: string, conversation: string, content: string): Promise<number> {
    const started = performance.now();
    const res = await fetch(`${api}/conversations/${conversation}/messages`, { method: 'POST', headers: headers(caller), body: JSON.stringify({ content }) });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status !== 200) {
      await res.text();
      return res.status;
    }
    const events: Event[] = [];
    let seenDelta = false;
    for await (const item of sseEvents(res.body!)) {
      if (item.type !== 'event') continue; // `: ping`
      if (!seenDelta && item.event === 'message.delta') {
        seenDelta = true;
        firstDelta.push(performance.now() - started);
      }
      events.push({ event: item.event ?? 'message', data: JSON.parse(item.data) as Record<string, unknown> });
    }
    const last = events.at(-1);
    if (events[0]?.event !== 'message.created' || last?.event !== 'message.completed') {
      fail(`${conversation}: stream ended with ${last?.event} ${JSON.stringify(last?.data).slice(0, 200)}`);
      return 200;
    }
    const deltas = events.filter((e) => e.event === 'message.delta');
    const reply = deltas.map((e) => e.data.content as string).join('');
    const message = last.data.message as { content: string; usage: Usage };
    if (message.content !== reply) fail(`${conversation}: completed content differs from the deltas`);
    turns.push({ caller, conversation, content, reply, usage: message.usage, deltas: deltas.length });
    return 200;
  }

  const firstDay = new Date().toISOString().slice(0, 10);
  const began = performance.now();
  for (let round = 0; round < ROUNDS; round += 1) {
    const jobs: Promise<unknown>[] = [];
    for (const caller of callers) {
      conversations.get(caller)!.forEach((conversation, j) => {
        const first = turn(caller, conversation, `round ${round} ${caller} conversation ${j}`);
        if (j !== 0) {
          jobs.push(first.then((status) => status === 200 || fail(`${conversation}: a turn answered ${status}`)));
          return;
        }
        // A double tap 2 ms later: one of the two runs, the other is refused with 409, never queued or interleaved.
        // (Both may run if the first has finished by the time the second is read: then both are in the history.)
        const second = new Promise((r) => setTimeout(r, 2)).then(() => turn(caller, conversation, `double tap ${round}`));
        jobs.push(Promise.all([first, second]).then((pair) => {
          expected409 += pair.filter((status) => status === 409).length;
          if (pair.some((status) => status !== 200 && status !== 409) || !pair.includes(200)) {
            fail(`${conversation}: a turn and its double tap answered ${pair.join(' and ')}`);
          }
        }));
      });
    }
    await Promise.all(jobs);
  }
  const seconds = (performance.now() - began) / 1000;
  clearInterval(sampler);

  // Every conversation: user/assistant alternating, all complete, in the order sent, replies as streamed.
  const byConversation = new Map<string, Turn[]>();
  for (const t of turns) byConversation.set(t.conversation, [...(byConversation.get(t.conversation) ?? []), t]);
  for (const caller of callers) {
    for (const conversation of conversations.get(caller)!) {
      const res = await fetch(`${api}/conversations/${conversation}/messages?limit=100`, { headers: headers(caller) });
      const items = ((await res.json()) as { items: { role: string; status: string; content: string }[] }).items;
      const sent = byConversation.get(conversation) ?? [];
      const want = sent.flatMap((t) => [`user:complete:${t.content}`, `assistant:complete:${t.reply}`]);
      const got = items.map((m) => `${m.role}:${m.status}:${m.content}`);
      if (sent.length < ROUNDS) fail(`${conversation}: ${sent.length} turns completed, expected at least ${ROUNDS}`);
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${conversation}: history differs from what was sent and streamed (${got.length} vs ${want.length} messages)`);
    }
  }

  // Usage: each caller's ledger equals the usage the model reported on that caller's turns; all of it equals the
  // simulator's own totals.
  const today = () => new Date().toISOString().slice(0, 10);
  const [from, to] = [firstDay, today()]; // a run may cross midnight UTC
  const ledger = { promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 };
  for (const caller of callers) {
    const res = await fetch(`${api}/usage?from=${from}&to=${to}`, { headers: headers(caller) });
    const totals = ((await res.json()) as { totals: Usage & { requests: number } }).totals;
    const mine = turns.filter((t) => t.caller === caller);
    const reported = mine.reduce((n, t) => n + t.usage.totalTokens, 0);
    if (totals.totalTokens !== reported || totals.requests !== mine.length) {
      fail(`${caller}: ledger ${totals.totalTokens} tokens / ${totals.requests} turns, streamed usage ${reported} / ${mine.length}`);
    }
    for (const key of ['promptTokens', 'completionTokens', 'totalTokens', 'requests'] as const) ledger[key] += totals[key];
  }
  const simTotals = sim.usageTotals;
  for (const key of ['promptTokens', 'completionTokens', 'totalTokens'] as const) {
    if (ledger[key] !== simTotals[key]) fail(`ledger ${key} ${ledger[key]} ≠ simulator ${simTotals[key]}`);
  }
  if (ledger.requests !== simTotals.requests) fail(`ledger counts ${ledger.requests} turns, the simulator answered ${simTotals.requests}`);
  for (const [status, count] of statuses) if (status !== 200 && status !== 409) fail(`${count} answers with status ${status}`);

  const chunks = turns.reduce((n, t) => n + t.deltas, 0);
  const sorted = [...firstDelta].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]?.toFixed(0);
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(0);
  console.log(`load: ${CALLERS} callers × ${PER_CALLER} conversations × ${ROUNDS} rounds (${CALLERS * PER_CALLER} concurrent streaming turns a round, + ${CALLERS} double taps)`);
  console.log(`machine: ${availableParallelism()} cores, Node ${process.version}; simulator ${REPLY_WORDS} words a reply, ${CHUNK_DELAY_MS} ms between chunks`);
  console.log(`turns: ${turns.length} completed, ${expected409} refused 409 as expected (one of each double tap), in ${seconds.toFixed(1)} s`);
  console.log(`throughput: ${(turns.length / seconds).toFixed(1)} turns/s, ${(chunks / seconds).toFixed(0)} chunks/s`);
  console.log(`time to first delta: p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${pct(100)} ms`);
  console.log(`usage: ${ledger.totalTokens} tokens in the ledger = ${simTotals.totalTokens} reported by the simulator`);
  console.log(`app RSS: ${mb(rssStart)} MB before, ${mb(rssPeak)} MB peak, ${mb(appRss())} MB after`);
  console.log(`app error lines: ${appErrors.length}${appErrors.length ? ` (first: ${appErrors[0]!.slice(0, 160)})` : ''}`);
  if (appErrors.length) fail(`the app logged ${appErrors.length} error line(s)`);

  app.kill('SIGTERM');
  await new Promise((resolve) => app.once('exit', resolve));
  await Promise.all([sim.close(), cosmos.close()]);
  if (problems.length) {
    console.error(`FAILED: ${problems.length} problem(s)`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log('OK: no message lost, every history complete and in order, usage equal to the simulator\'s totals');
}

await main();
