// The service's peers in their own process: the Cosmos-protocol server and the Phi simulator (every SSE frame it writes can be stamped, for relay latency).
// In Azure both are separate services; here they must not spend the service process's CPU.
import { ServerResponse } from 'node:http';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../local/embeddedCosmos.js';
import { startPhiSimulator, type PhiSimulator, type PhiSimulatorOptions } from '../local/phiSimulator/startPhiSimulator.js';
import { serve } from './rpc.js';
import { nowAbs } from './stats.js';

/** A content-bearing SSE frame the simulator wrote, and when (`nowAbs()`). */
export interface StampedWrite {
  readonly at: number;
  readonly content: string;
}

let cosmos: EmbeddedCosmos | undefined;
let sim: PhiSimulator | undefined;
let writes: StampedWrite[] | undefined;

function contentOf(data: string): string {
  if (data === '[DONE]') return '';
  const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
  return parsed.choices?.[0]?.delta?.content ?? '';
}

type Write = (this: unknown, chunk: unknown, ...rest: unknown[]) => boolean;
const proto = ServerResponse.prototype as unknown as { write: Write };
const original = proto.write;
proto.write = function write(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
  if (writes && typeof chunk === 'string' && chunk.startsWith('data: {')) {
    const content = contentOf(chunk.slice(6).trim());
    if (content !== '') writes.push({ at: nowAbs(), content });
  }
  return original.call(this, chunk, ...rest);
};

export const peerHandlers = {
  /** The store as `npm start` runs it (in memory): its queries scoped to their partition, its connections kept 60 s. */
  async cosmos(): Promise<string> {
    cosmos = await startEmbeddedCosmos();
    return cosmos.endpoint;
  },
  async startSim(options: PhiSimulatorOptions): Promise<{ url: string; model: string }> {
    sim = await startPhiSimulator(options);
    return { url: sim.url, model: sim.model.id };
  },
  /** When each completion request after `after` arrived. */
  completionsAfter: (after: number): number[] => (sim?.completionRequests ?? []).map((r) => r.receivedAt).filter((t) => t > after),
  async closeSim(): Promise<void> {
    await sim?.close();
    sim = undefined;
  },
  stampWrites: (on: boolean): void => {
    writes = on ? [] : undefined;
  },
  takeWrites: (): StampedWrite[] => {
    const taken = writes ?? [];
    if (writes) writes = [];
    return taken;
  },
  async close(): Promise<void> {
    await sim?.close();
    await cosmos?.close();
  },
};

if (process.send) serve(peerHandlers);
