import { buildServices, type ServiceOverrides, type Services } from '../src/app.js';
import { tokenizerFor } from '../src/chat/tokenizer/index.js';
import type { Config } from '../src/config.js';
import { openChatContainer } from '../src/store/cosmosContainer.js';
import { startEmbeddedCosmos, type EmbeddedCosmos } from './embeddedCosmos.js';
import { startCosmosWorker } from './startCosmosWorker.js';
import { startPhiSimulator } from './phiSimulator/startPhiSimulator.js';

export interface LocalOptions {
  /** Where the embedded store keeps its data across runs (resolveLocalDataDir); unset: in memory. */
  readonly dataDir?: string;
  /** The store in its own worker thread (startCosmosWorker); needs the built files, so `npm start` only. */
  readonly storeThread?: boolean;
}

/**
 * The services of a run on this machine (`npm start`): where COSMOS_ENDPOINT or PHI_ENDPOINT is unset, the
 * embedded Cosmos-protocol store or the Phi simulator starts here and is handed to `buildServices` as an override,
 * so the app runs with no account while the composition root itself never starts either. `close()` stops them.
 */
export async function buildLocalServices(config: Config, overrides: ServiceOverrides = {}, local: LocalOptions = {}): Promise<Services> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    let { container, modelEndpoint } = overrides;
    if (!container && !config.cosmos.endpoint) {
      const options = local.dataDir ? { dataDir: local.dataDir } : {};
      const embedded = await (local.storeThread ? startCosmosWorker(options) : startEmbeddedCosmos(options));
      closers.push(() => embedded.close());
      container = await openChatContainer({ endpoint: embedded.endpoint, key: embedded.key, database: config.cosmos.database });
      console.log(`[chat] COSMOS_ENDPOINT is not set: using the embedded Cosmos-compatible store at ${embedded.endpoint}${local.storeThread ? ' (its own thread)' : ''}; ${whereDataLives(local.dataDir, embedded.kept)}`);
    }
    if (!overrides.model && !modelEndpoint && !config.phi.endpoint) {
      const { model, api } = config.phi;
      const simulator = await startPhiSimulator({ modelId: model.id, tokenizer: tokenizerFor(model.tokenizer) });
      closers.push(() => simulator.close());
      modelEndpoint = { url: api === 'openai' ? simulator.openaiUrl : simulator.url, apiKey: config.phi.apiKey ?? 'local-simulator' };
      console.log(`[chat] PHI_ENDPOINT is not set: using the bundled Phi simulator at ${modelEndpoint.url} (${model.id}, ${api} wire).`);
    }
    const services = await buildServices(config, { ...overrides, ...(container ? { container } : {}), ...(modelEndpoint ? { modelEndpoint } : {}) });
    return {
      ...services,
      close: async () => {
        await services.close();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function whereDataLives(dataDir: string | undefined, kept: EmbeddedCosmos['kept']): string {
  if (!dataDir || !kept) return 'data lives in memory and is gone when the process stops (LOCAL_DATA_DIR=memory).';
  const torn = kept.dropped ? ` ${kept.dropped} unreadable journal line(s) at the end were dropped (a write cut off by a crash).` : '';
  return `data is kept in ${dataDir} (${kept.documents} documents found; LOCAL_DATA_DIR=memory for a throwaway run).${torn}`;
}
