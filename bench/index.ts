/**
 * `npm run bench`: every figure of docs/performance.md beside its baseline, measured in this run, as one table
 * (or `--json`). Benchmarks only: nothing here is part of `npm test`.
 */
import { benchColdStart } from './coldStart.js';
import { benchContextAssembly } from './contextAssembly.js';
import { startHarness } from './harness.js';
import { describeMachine } from './machine.js';
import { round } from './stats.js';
import { benchTokenizer } from './tokenizer.js';
import { benchFirstToken, benchRelayLatency, benchThroughput } from './turns.js';
import { benchBranchReads } from './branches.js';
import { benchStoreQueries } from './storeQueries.js';

/** One line of the table. */
export interface Figure {
  readonly figure: string;
  readonly ours: number;
  readonly baseline: number | null;
  /** `ours - baseline` (diff) or `ours / baseline` (ratio), as the target is stated. */
  readonly compared: string;
  readonly target: string;
  readonly pass: boolean;
  readonly unit: string;
}

const json = process.argv.includes('--json');
/** `--only=first-token,relay` (any of tokenizer, context, cold-start, store, first-token, relay, branches): part of the table, to iterate on. */
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;
const wants = (part: string): boolean => only === null || only.has(part);
const say = (line: string): void => {
  if (!json) process.stderr.write(`${line}\n`);
};

function diff(figure: string, unit: string, ours: number, baseline: number, max: number): Figure {
  const d = ours - baseline;
  return { figure, unit, ours: round(ours), baseline: round(baseline), compared: `${d >= 0 ? '+' : ''}${round(d)} ${unit}`, target: `≤ ${max} ${unit} over`, pass: d <= max };
}

const figures: Figure[] = [];
const machine = describeMachine();

if (wants('tokenizer')) {
  say('tokenizer…');
  const tok = await benchTokenizer();
  const find = (corpus: string, tokenizer: string) => tok.find((r) => r.corpus.startsWith(corpus) && r.tokenizer === tokenizer);
  for (const [label, corpus, ours, baseline] of [
    ['tokenizer, ~1 MB mixed text (cold cache)', 'mixed text', 'ours encode (cold cache)', 'llama-tokenizer-js'],
    ['tokenizer, 2,000 chat messages (cold cache)', '2000 chat', 'ours countText (cold cache)', 'llama-tokenizer-js'],
    ['tokenizer, Phi-4-mini (o200k_base), ~1 MB mixed text (cold cache), vs js-tiktoken', 'o200k_base: mixed text', 'ours phi4mini encode (cold cache)', 'js-tiktoken'],
  ] as const) {
    const o = find(corpus, ours);
    const b = find(corpus, baseline);
    if (!o || !b) throw new Error(`tokenizer rows missing for ${corpus}`);
    const ratio = o.tokensPerSecond / b.tokensPerSecond;
    figures.push({
      figure: `${label}, tokens/s`, unit: 'tokens/s', ours: o.tokensPerSecond, baseline: b.tokensPerSecond, compared: `${round(ratio, 1)}×`,
      target: '≥ 1,000,000/s and ≥ 10×', pass: o.tokensPerSecond >= 1_000_000 && ratio >= 10 && o.identical,
    });
  }
}

if (wants('context')) {
  say('context assembly…');
  const ctx = (await benchContextAssembly())[0];
  if (!ctx) throw new Error('no context assembly row');
  figures.push({
    figure: `context assembly, 128K prompt from ${ctx.historyMessages} messages (median; worst ${ctx.worstMs} ms)`, unit: 'ms',
    ours: round(ctx.medianMs, 3), baseline: null, compared: '—', target: '≤ 10 ms', pass: ctx.medianMs <= 10,
  });
}

if (wants('cold-start')) {
  say('cold start…');
  const cold = await benchColdStart(5);
  figures.push({
    figure: `cold start: fresh node, import + register ${cold.functions} functions (median of ${cold.runs})`, unit: 'ms',
    ours: round(cold.oursMs, 0), baseline: round(cold.baseMs, 0), compared: `+${round(cold.oursMs - cold.baseMs, 0)} ms`,
    target: '≤ 300 ms', pass: cold.oursMs <= 300,
  });
}

if (wants('store')) {
  say('embedded store…');
  const store = await benchStoreQueries();
  figures.push({
    figure: `embedded store, a turn's history query among ${store.documents} documents of ${store.users} callers (median; point read ${round(store.pointReadMs)} ms)`,
    unit: 'ms', ours: round(store.historyQueryMs), baseline: round(store.pointReadMs), compared: `+${round(store.historyQueryMs - store.pointReadMs)} ms`,
    target: '≤ 5 ms over a point read', pass: store.historyQueryMs - store.pointReadMs <= 5,
  });
}

if (wants('first-token') || wants('relay') || wants('branches')) {
  const h = await startHarness();
  try {
    if (wants('first-token')) {
      say('service: first token, store round trips…');
      const one = await benchFirstToken(h, 1, 40);
      const fifty = await benchFirstToken(h, 50, 4);
      for (const { ft } of [one, fifty]) {
        figures.push(diff(`first-token overhead p50, ${ft.concurrency} concurrent (${ft.samples} turns)`, 'ms', ft.oursP50, ft.baseP50, 5));
        figures.push(diff(`first-token overhead p99, ${ft.concurrency} concurrent`, 'ms', ft.oursP99, ft.baseP99, 25));
      }
      if (one.trips) {
        figures.push({
          figure: `store round trips before the model call (sequential; ${one.trips.requests} requests of ${one.trips.perTurn} in the turn)`, unit: 'round trips',
          ours: one.trips.sequential, baseline: null, compared: '—', target: '≤ 2', pass: one.trips.sequential <= 2,
        });
        say(`  requests before the model call: ${one.trips.detail}`);
      }
    }
    if (wants('relay')) {
      say('service: relay…');
      const relay = await benchRelayLatency(h, 20);
      figures.push(diff(`relay latency per chunk p99 (${relay.samples} chunks; p50 +${round(relay.oursP50 - relay.baseP50, 3)} ms)`, 'ms', relay.oursP99, relay.baseP99, 1));
      const tp = await benchThroughput(h, 100, 300);
      figures.push({
        figure: `relay throughput, ${tp.turns} concurrent turns, chunks/s`, unit: 'chunks/s', ours: Math.round(tp.oursChunksPerSecond),
        baseline: Math.round(tp.baseChunksPerSecond), compared: `${round(tp.oursChunksPerSecond / tp.baseChunksPerSecond, 2)}×`,
        target: '≥ 20,000/s', pass: tp.oursChunksPerSecond >= 20_000,
      });
      figures.push({
        figure: `relay CPU of the service process per chunk (${tp.turns} concurrent turns; ${Math.round(1e6 / tp.serviceCpuUsPerChunk)} chunks per CPU-second)`, unit: 'µs',
        ours: round(tp.serviceCpuUsPerChunk, 1), baseline: null, compared: '—', target: '≤ 50 µs (= 20,000/s per core)', pass: tp.serviceCpuUsPerChunk <= 50,
      });
      figures.push({
        figure: `memory: peak RSS above idle (${round(tp.idleRssMb, 0)} MB), ${tp.turns} concurrent streaming turns`, unit: 'MB',
        ours: round(tp.oursPeakRssAboveIdleMb, 1), baseline: null, compared: '—', target: '≤ 100 MB', pass: tp.oursPeakRssAboveIdleMb <= 100,
      });
    }
    if (wants('branches')) {
      say('service: branches (seeding 2 × 2,000 messages)…');
      const [line, tree] = await benchBranchReads(h);
      if (!line || !tree) throw new Error('branch rows missing');
      // Bounded: the newest page the turn reads beside the conversation (100), its own path, and a few point reads and counts.
      const bound = 100 + tree.pathMessages + 10;
      figures.push({
        figure: `turn, ${tree.messages} messages over ${tree.branches} branches: documents read (path ${tree.pathMessages}, ${tree.turn.queries} queries, ${tree.turn.requests} store requests; baseline: one line of ${line.messages}, ${line.turn.queries} queries)`,
        unit: 'documents', ours: tree.turn.documents, baseline: line.turn.documents, compared: `${round(tree.turn.documents / line.turn.documents, 2)}×`,
        target: `≤ 100 + path + 10 (${bound})`, pass: tree.turn.documents <= bound,
      });
      for (const r of [line, tree]) {
        say(`  ${r.label}: turn ${r.turn.documents} documents / ${r.turn.queries} queries / ${r.turn.requests} requests (${r.included} messages sent); page of 50 ${r.page.documents} / ${r.page.queries} / ${r.page.requests}; branch switch ${r.switchBranch.documents} / ${r.switchBranch.queries} / ${r.switchBranch.requests}`);
      }
    }
  } finally {
    await h.close();
  }
}

if (json) {
  console.log(JSON.stringify({ machine, figures }, null, 2));
} else {
  console.log(`${machine.date}  ${machine.nproc} × ${machine.cpu}, ${machine.memoryGb} GB, node ${machine.node}, ${machine.platform}, load average ${machine.loadAverage} at start, ${describeMachine().loadAverage} at end\n`);
  const rows = figures.map((f) => [f.figure, String(f.ours), f.baseline === null ? '—' : String(f.baseline), f.compared, f.target, f.pass ? 'pass' : 'FAIL']);
  const head = ['figure', 'ours', 'baseline', 'ratio/diff', 'target', ''];
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
}
process.exit(0);
