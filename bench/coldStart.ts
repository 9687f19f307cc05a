import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { quantile } from './stats.js';

export interface ColdStart {
  readonly runs: number;
  /** ms from process start until every function is registered (median). */
  readonly oursMs: number;
  /** ms from process start to the first line of an empty script (median). */
  readonly baseMs: number;
  readonly functions: number;
}

function child(mode: 'app' | 'empty'): Promise<{ ms: number; functions: number }> {
  const script = fileURLToPath(new URL('./coldStartChild.js', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, mode], { cwd: process.cwd() }, (error, stdout) => {
      if (error) return reject(error);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      resolve(JSON.parse(last) as { ms: number; functions: number });
    });
  });
}

/**
 * Fresh `node` processes, alternately importing the built app through the functions-core stand-in (as the worker
 * does) and importing nothing; each reports `performance.now()` (ms since its own start) when done.
 */
export async function benchColdStart(runs: number): Promise<ColdStart> {
  const ours: number[] = [];
  const base: number[] = [];
  let functions = 0;
  await child('app');
  for (let i = 0; i < runs; i += 1) {
    const a = await child('app');
    functions = a.functions;
    ours.push(a.ms);
    base.push((await child('empty')).ms);
  }
  return { runs, oursMs: quantile(ours, 0.5), baseMs: quantile(base, 0.5), functions };
}
