/**
 * `npm run stand-ins`: the embedded Cosmos-protocol store and the Phi simulator on fixed loopback ports, for
 * `func start`. Under a Functions host the app never starts them itself (deployed code must not), so this process
 * serves them and `local.settings.sample.json` points at it. `npm start` does not need it.
 */
import { pathToFileURL } from 'node:url';
import { DEFAULT_MODEL_ID } from '../src/chat/modelCatalog.js';
import { startEmbeddedCosmos, type EmbeddedCosmos } from './embeddedCosmos.js';
import { startPhiSimulator, type PhiSimulator } from './phiSimulator/startPhiSimulator.js';

export interface StandIns {
  readonly cosmos: EmbeddedCosmos;
  readonly simulator: PhiSimulator;
  close(): Promise<void>;
}

/** The Cosmos DB emulator's port, so settings written for the emulator work unchanged. */
export const STAND_IN_PORTS = { cosmos: 8081, simulator: 7072 } as const;

export async function startStandIns(ports = STAND_IN_PORTS, modelId = DEFAULT_MODEL_ID): Promise<StandIns> {
  const cosmos = await startEmbeddedCosmos({ port: ports.cosmos });
  const simulator = await startPhiSimulator({ port: ports.simulator, modelId }).catch(async (error: unknown) => {
    await cosmos.close();
    throw error;
  });
  return {
    cosmos, simulator,
    close: async () => {
      await simulator.close();
      await cosmos.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const modelId = process.env.PHI_MODEL || DEFAULT_MODEL_ID;
  const { cosmos, simulator, close } = await startStandIns(STAND_IN_PORTS, modelId);
  console.log(`[stand-ins] embedded Cosmos-compatible store (in memory): COSMOS_ENDPOINT=${cosmos.endpoint}, COSMOS_KEY the emulator's key`);
  console.log(`[stand-ins] Phi simulator: PHI_ENDPOINT=${simulator.openaiUrl} PHI_DEPLOYMENT=${modelId} (or ${simulator.url} with PHI_API=inference)`);
  console.log('[stand-ins] local.settings.sample.json points here; Ctrl+C stops both.');
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
