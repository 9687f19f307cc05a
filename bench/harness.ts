import { randomUUID } from 'node:crypto';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../local/host/index.js';
import { EMULATOR_KEY } from '../local/embeddedCosmos.js';
import type { PhiSimulatorOptions } from '../local/phiSimulator/startPhiSimulator.js';
import { buildServices, useServices, type Services } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { clientHandlers } from './clientChild.js';
import type { peerHandlers } from './peerChild.js';
import { spawnChild, type Child } from './rpc.js';

import { nowAbs } from './stats.js';

export { nowAbs };

/** A request the service process sent, as its HTTP client saw it (`nowAbs()` clock). */
export interface OutboundRequest {
  /** `store` for HTTPS (the Cosmos client), `model` for plain HTTP (the simulator). */
  readonly to: 'store' | 'model';
  readonly method: string;
  readonly path: string;
  readonly start: number;
  /** When the response head arrived (NaN until then). */
  head: number;
  /** When the response body ended (NaN until then). */
  end: number;
  /** Store requests on documents: a query (`x-ms-documentdb-isquery`), its plan, a point read (GET) or a write; `meta` otherwise. */
  kind?: 'query' | 'plan' | 'read' | 'write' | 'meta';
  /** Documents in a query's answer (`x-ms-item-count`; an aggregate's one value counts 1), 1 for a point read found. */
  items?: number;
}

/**
 * Logs every request this process's HTTP clients send (and its `fetch`, for a model's head only), from the client's side: the store round trips a turn makes
 * before its model call are counted from here (a single-threaded store answers parallel requests one after the
 * other, so its own log cannot tell parallel from sequential).
 */
function instrumentClients(log: OutboundRequest[]): void {
  for (const [mod, to] of [[https, 'store'], [http, 'model']] as const) {
    const original = mod.request as (...args: unknown[]) => ClientRequest;
    (mod as { request: unknown }).request = function request(...args: unknown[]): ClientRequest {
      const req = original.apply(mod, args);
      const entry: OutboundRequest = { to, method: req.method, path: req.path, start: nowAbs(), head: Number.NaN, end: Number.NaN };
      log.push(entry);
      req.once('response', (res: IncomingMessage) => {
        entry.head = nowAbs();
        if (to === 'store') {
          entry.kind = !/\/docs(\/|$)/.test(req.path) ? 'meta'
            : req.getHeader('x-ms-cosmos-is-query-plan-request') ? 'plan'
              : req.getHeader('x-ms-documentdb-isquery') ? 'query' : req.method === 'GET' ? 'read' : 'write';
          entry.items = entry.kind === 'query' ? Number(res.headers['x-ms-item-count'] ?? 0) : entry.kind === 'read' && res.statusCode === 200 ? 1 : 0;
        }
        res.once('end', () => (entry.end = nowAbs()));
      });
      return req;
    };
  }
  // Modules that import `request` by name see the wrapper too.
  syncBuiltinESMExports();
  // The OpenAI v1 wire's client calls the global fetch (undici), not `http.request`: its requests are the model's.
  const fetchOriginal = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const entry: OutboundRequest = { to: 'model', method: init?.method ?? 'GET', path: url.pathname, start: nowAbs(), head: Number.NaN, end: Number.NaN };
    log.push(entry);
    const response = await fetchOriginal(input, init);
    entry.head = nowAbs();
    return response;
  };
}

/**
 * The service in this process (the local host serving the built function files, and the services), its peers
 * (Cosmos-protocol server, Phi simulator) in one child process and the clients in another: what this process
 * spends is the service's own cost, and the direct baseline runs between the same two child processes.
 */
export interface Harness {
  readonly api: string;
  /** Requests the service sent to its store and model. */
  readonly outbound: OutboundRequest[];
  readonly peers: Child<typeof peerHandlers>;
  readonly client: Child<typeof clientHandlers>;
  /** Starts a simulator with these options and points fresh services at it; close it before the next phase. */
  phase(sim: PhiSimulatorOptions, env?: Record<string, string>): Promise<Phase>;
  close(): Promise<void>;
}

export interface Phase {
  /** The simulator's URL and model id. */
  readonly sim: { readonly url: string; readonly model: string };
  readonly services: Services;
  close(): Promise<void>;
}

/** Starts the service as `npm start` would, except that its peers and clients run in child processes. */
export async function startHarness(): Promise<Harness> {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.js');
  if (!compiled) throw new Error('The harness runs compiled (npm run bench): its children are dist/bench/*.js.');
  const outbound: OutboundRequest[] = [];
  instrumentClients(outbound);
  const registry = await loadFunctionsApp({ mainGlob: 'dist/src/functions/*.js' });
  const peers = spawnChild<typeof peerHandlers>('./peerChild.js');
  const client = spawnChild<typeof clientHandlers>('./clientChild.js');
  const endpoint = await peers.call('cosmos', undefined as never);
  // The app's start-up check reads the process environment before any phase installs services; the bench serves on
  // loopback as npm start does, in dev mode.
  process.env.AUTH_MODE ??= 'dev';
  const host: LocalHost = await createLocalHost({ app: registry, logger: { info() {}, error() {} } });
  return {
    api: `${host.url}/api`,
    outbound,
    peers,
    client,
    async phase(simOptions, env = {}) {
      const sim = await peers.call('startSim', simOptions);
      const config = loadConfig({
        // The OpenAI v1 wire, what Azure serves Phi-4-mini over today (the inference wire is retired there).
        PHI_ENDPOINT: `${sim.url}/openai/v1`, PHI_DEPLOYMENT: sim.model, PHI_API_KEY: 'bench', PHI_MODEL: sim.model, PHI_MAX_CONCURRENCY: '1000',
        COSMOS_ENDPOINT: endpoint, COSMOS_KEY: EMULATOR_KEY, COSMOS_DATABASE: `bench-${randomUUID()}`, AUTH_MODE: 'dev', ...env,
      });
      const services = await buildServices(config);
      useServices(services);
      return {
        sim, services,
        close: async () => {
          await services.close();
          await peers.call('closeSim', undefined as never);
        },
      };
    },
    async close() {
      await host.close();
      await peers.call('close', undefined as never);
      peers.close();
      client.close();
    },
  };
}
