import { randomUUID } from 'node:crypto';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../local/host/index.js';
import { EMULATOR_KEY } from '../local/embeddedCosmos.js';
import { startPhiSimulator, type PhiSimulator, type PhiSimulatorOptions } from '../local/phiSimulator/startPhiSimulator.js';
import { buildServices, useServices, type Services } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/** One request the embedded Cosmos server answered, on the `performance.timeOrigin + now()` clock. */
export interface CosmosRequest {
  readonly method: string;
  readonly url: string;
  readonly start: number;
  end: number;
}

/** The whole service in this process: embedded Cosmos (instrumented), the local host, and a simulator per phase. */
export interface Harness {
  readonly api: string;
  readonly cosmosLog: CosmosRequest[];
  /** Starts a simulator with these options and points fresh services at it; close it before the next phase. */
  phase(sim: PhiSimulatorOptions, env?: Record<string, string>): Promise<Phase>;
  close(): Promise<void>;
}

export interface Phase {
  readonly sim: PhiSimulator;
  readonly services: Services;
  close(): Promise<void>;
}

/** Absolute high-resolution time, the clock the simulator stamps requests with. */
export const nowAbs = (): number => performance.timeOrigin + performance.now();

/**
 * Starts the service as `npm start` would, except that the Cosmos-protocol server is started here so every request
 * it receives can be logged (start and finish): that is how store round trips are counted, without touching the app.
 */
export async function startHarness(): Promise<Harness> {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.js');
  const registry = await loadFunctionsApp({ mainGlob: compiled ? 'dist/src/functions/*.js' : 'src/functions/*.ts' });
  const { createHttpsServer } = await import('@vercel/cosmosdb-server');
  const cosmos: Server = createHttpsServer({ keepAlive: true } as Parameters<typeof createHttpsServer>[0]);
  const cosmosLog: CosmosRequest[] = [];
  cosmos.prependListener('request', (req, res) => {
    const entry: CosmosRequest = { method: req.method ?? '', url: req.url ?? '', start: nowAbs(), end: Number.NaN };
    cosmosLog.push(entry);
    res.on('finish', () => (entry.end = nowAbs()));
  });
  await new Promise<void>((resolve) => cosmos.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `https://127.0.0.1:${(cosmos.address() as AddressInfo).port}`;
  const host: LocalHost = await createLocalHost({ app: registry, logger: { info() {}, error() {} } });
  return {
    api: `${host.url}/api`,
    cosmosLog,
    async phase(simOptions, env = {}) {
      const sim = await startPhiSimulator(simOptions);
      const config = loadConfig({
        PHI_ENDPOINT: sim.url, PHI_API_KEY: 'bench', PHI_MODEL: sim.model.id, PHI_MAX_CONCURRENCY: '1000',
        COSMOS_ENDPOINT: endpoint, COSMOS_KEY: EMULATOR_KEY, COSMOS_DATABASE: `bench-${randomUUID()}`, AUTH_MODE: 'dev', ...env,
      });
      const services = await buildServices(config);
      useServices(services);
      return {
        sim, services,
        close: async () => {
          await services.close();
          await sim.close();
        },
      };
    },
    async close() {
      await host.close();
      await new Promise<void>((resolve) => {
        cosmos.closeAllConnections();
        cosmos.close(() => resolve());
      });
    },
  };
}
