import { cpus, loadavg, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';

/** What the numbers were measured on: they mean little without it. */
export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly cpu: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average: the machines are shared, and a busy one moves every latency figure. */
  readonly loadAverage: number;
}

/** Describes this machine and run. */
export function describeMachine(): Machine {
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
