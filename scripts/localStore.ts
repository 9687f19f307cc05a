/**
 * `node dist/scripts/localStore.js` (after `npm run build`): first-delta latency of `npm start`'s own parts — the
 * embedded store in memory or kept in a data folder, on the service's event loop or in its own thread — at 1 and 50
 * concurrent turns. The service runs in this process as `npm start` composes it (AUTO_TITLE off); the clients in a
 * child process. Then the journal's cost per write, store and client in this process. Not a test: the figures depend on the machine; docs/performance.md has them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { openChatContainer } from '../src/store/cosmosContainer.js';
import { startEmbeddedCosmos } from '../local/embeddedCosmos.js';
import { createLocalHost, loadFunctionsApp } from '../local/host/index.js';
import { sseEvents } from '../tools/sseEvents.js';

const ROUNDS = [{ concurrency: 1, turns: 40 }, { concurrency: 50, turns: 200 }] as const;

async function client(api: string, concurrency: number, turns: number): Promise<number[]> {
  const firstDelta: number[] = [];
  const worker = async (index: number) => {
    const user = `user-${concurrency}-${index}`;
    const created = await fetch(`${api}/conversations`, { method: 'POST', headers: { 'x-user-id': user, 'content-type': 'application/json' }, body: '{}' });
    const { id } = (await created.json()) as { id: string };
    for (let turn = index; turn < turns; turn += concurrency) {
      const started = performance.now();
      const res = await fetch(`${api}/conversations/${id}/messages`, {
        method: 'POST', headers: { 'x-user-id': user, 'content-type': 'application/json' }, body: JSON.stringify({ content: `turn ${turn}` }),
      });
      let seen = false;
      for await (const event of sseEvents(res.body!)) {
        if (!seen && event.type === 'event' && event.event === 'message.delta') {
          seen = true;
          firstDelta.push(performance.now() - started);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  return firstDelta;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

async function variant(storeThread: boolean, keep: boolean): Promise<string> {
  const dataDir = keep ? mkdtempSync(join(tmpdir(), 'chat-bench-')) : undefined;
  const config = loadConfig({ AUTO_TITLE: 'false', PATH: process.env.PATH }, { loopbackHost: true });
  const [{ useServices }, { buildLocalServices }] = await Promise.all([import('../src/app.js'), import('../local/localServices.js')]);
  const log = console.log;
  console.log = () => undefined;
  const services = await buildLocalServices(config, {}, { ...(dataDir ? { dataDir } : {}), storeThread });
  console.log = log;
  useServices(services);
  const host = await createLocalHost({ app: registry, hostname: '127.0.0.1', port: 0, logger: { info: () => undefined, error: (line) => console.error(line) } });
  const cells: string[] = [];
  for (const { concurrency, turns } of ROUNDS) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', `${host.url}/api`, String(concurrency), String(turns)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    const values = JSON.parse(out) as number[];
    cells.push(`${percentile(values, 50).toFixed(1)} / ${percentile(values, 99).toFixed(1)}`);
  }
  await host.close();
  await services.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  return `| ${storeThread ? 'own thread' : 'service loop'} | ${keep ? 'data folder' : 'memory'} | ${cells.join(' | ')} |`;
}

/** The journal's own cost: one document upserted 2,000 times in a row, then 2,000 upserts 50 at a time, per write. */
async function writes(keep: boolean): Promise<string> {
  const dataDir = keep ? mkdtempSync(join(tmpdir(), 'chat-bench-')) : undefined;
  const cosmos = await startEmbeddedCosmos(dataDir ? { dataDir } : {});
  const container = await openChatContainer({ endpoint: cosmos.endpoint, key: cosmos.key, database: 'writes' });
  const body = (i: number) => ({ id: `d${i % 100}`, userId: 'u', text: 'x'.repeat(2000), i });
  let started = performance.now();
  for (let i = 0; i < 2000; i += 1) await container.items.upsert(body(i));
  const sequential = (performance.now() - started) / 2000;
  started = performance.now();
  for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => container.items.upsert(body(i + j))));
  const parallel = (performance.now() - started) / 2000;
  await cosmos.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  return `| ${keep ? 'data folder' : 'memory'} | ${(sequential * 1000).toFixed(0)} | ${(parallel * 1000).toFixed(0)} |`;
}

let registry: Awaited<ReturnType<typeof loadFunctionsApp>>;
if (process.argv[2] === '--client') {
  const [api, concurrency, turns] = process.argv.slice(3);
  process.stdout.write(JSON.stringify(await client(api!, Number(concurrency), Number(turns))));
} else {
  registry = await loadFunctionsApp();
  console.log('| store | data | first delta p50 / p99 ms, 1 concurrent (40 turns) | 50 concurrent (200 turns) |');
  console.log('|---|---|---|---|');
  for (const [thread, keep] of [[false, false], [false, true], [true, false], [true, true]] as const) console.log(await variant(thread, keep));
  console.log('\n| store (in this process) | µs per 2 KB upsert, one at a time | 50 at a time |');
  console.log('|---|---|---|');
  for (const keep of [false, true, false, true]) console.log(await writes(keep));
}
