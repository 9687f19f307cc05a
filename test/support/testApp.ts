import { randomUUID } from 'node:crypto';
import type { Container } from '@azure/cosmos';
import { createLocalHost, loadFunctionsApp, type LocalHost } from '../../local/host/index.js';
import { startEmbeddedCosmos, type EmbeddedCosmos } from '../../local/embeddedCosmos.js';
import type { PhiSimulator, PhiSimulatorOptions, SimulatedWire } from '../../local/phiSimulator/startPhiSimulator.js';
import { buildServices, useServices, type Services } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openChatContainer } from '../../src/store/cosmosContainer.js';
import { TestClock } from './clock.js';
import { startTestSimulator } from './simulator.js';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';

/** Both model wires, for `describe.each`: a turn's guarantees hold whichever adapter talks to the model. */
export const WIRES: readonly SimulatedWire[] = ['openai', 'inference'];

export interface TestApp {
  /** `http://127.0.0.1:<port>/api` */
  readonly api: string;
  readonly host: LocalHost;
  readonly sim: PhiSimulator;
  /** The wire the app talks to the simulator over (through the `openai` or the `@azure-rest/ai-inference` client). */
  readonly wire: SimulatedWire;
  readonly cosmos: EmbeddedCosmos;
  readonly container: Container;
  readonly services: Services;
  readonly clock: TestClock;
  /** Present with `storeProxy: true`: the app reaches Cosmos through it; cut it to take the store away. */
  readonly storeProxy?: TcpProxy;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra settings, as environment variables. */
  readonly env?: Record<string, string>;
  readonly simulator?: Partial<PhiSimulatorOptions>;
  /** Which model API the app uses (default `openai`, as `npm start` does): `PHI_API` with the simulator's matching URL. */
  readonly wire?: SimulatedWire;
  /** Route the app's Cosmos traffic through a TCP proxy the test can cut and restore (`storeProxy`). */
  readonly storeProxy?: boolean;
  /** Serve the chat page at `/` as `npm start` does (its files must be built: `npm run build`). */
  readonly chatPage?: boolean;
}

/**
 * The whole service as `npm start` runs it, on real sockets: the local host serving the app's registered
 * functions, the embedded Cosmos-protocol server over HTTPS and the Phi simulator over HTTP, on either wire.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const registry = await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' });
  const [cosmos, sim] = await Promise.all([startEmbeddedCosmos(), startTestSimulator({ ...options.simulator })]);
  const proxy = options.storeProxy ? await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(cosmos.endpoint).port) }) : undefined;
  const storeEndpoint = proxy ? `https://127.0.0.1:${proxy.port}` : cosmos.endpoint;
  const wire = options.wire ?? 'openai';
  const config = loadConfig({
    ...(wire === 'openai' ? { PHI_ENDPOINT: sim.openaiUrl, PHI_DEPLOYMENT: sim.model.id } : { PHI_ENDPOINT: sim.url }),
    PHI_API: wire,
    PHI_API_KEY: 'test-key',
    PHI_MODEL: sim.model.id,
    COSMOS_ENDPOINT: storeEndpoint,
    COSMOS_KEY: cosmos.key,
    COSMOS_DATABASE: `test-${randomUUID()}`,
    PHI_RETRY_BUDGET_MS: '2000',
    // Titles off unless a test turns them on (AUTO_TITLE=true): a title call would take faults queued for a reply
    // and add to the requests and usage the turn tests count. test/functions/titles.test.ts runs them.
    AUTO_TITLE: 'false',
    ...options.env,
  }, { loopbackHost: true });
  const container = await openChatContainer({ endpoint: storeEndpoint, key: cosmos.key, database: config.cosmos.database });
  const clock = new TestClock();
  const services = await buildServices(config, { clock, container });
  useServices(services);
  const host = await createLocalHost({
    app: registry, logger: { info() {}, error() {} }, corsAllowedOrigins: config.corsAllowedOrigins,
    ...(options.chatPage ? { chatPageRoot: process.cwd() } : {}),
  });
  return {
    api: `${host.url}/api`, host, sim, wire, cosmos, container, services, clock, ...(proxy ? { storeProxy: proxy } : {}),
    close: async () => {
      await host.close();
      await services.close();
      await proxy?.close();
      await Promise.all([sim.close(), cosmos.close()]);
    },
  };
}
