// The service's peers in their own process: the Cosmos-protocol server and the Phi simulator (every SSE frame it writes can be stamped, for relay latency).
// In Azure both are separate services; here they must not spend the service process's CPU.
import type { Server } from 'node:https';
import { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPhiSimulator, type PhiSimulator, type PhiSimulatorOptions } from '../local/phiSimulator/startPhiSimulator.js';
import { serve } from './rpc.js';
import { nowAbs } from './stats.js';

/** A content-bearing SSE frame the simulator wrote, and when (`nowAbs()`). */
export interface StampedWrite {
  readonly at: number;
  readonly content: string;
}

let cosmos: Server | undefined;
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
  async cosmos(): Promise<string> {
    const { createHttpsServer } = await import('@vercel/cosmosdb-server');
    const server: Server = createHttpsServer({ keepAlive: true } as Parameters<typeof createHttpsServer>[0]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cosmos = server;
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
    cosmos?.closeAllConnections();
    await new Promise<void>((resolve) => (cosmos ? cosmos.close(() => resolve()) : resolve()));
  },
};

if (process.send) serve(peerHandlers);
