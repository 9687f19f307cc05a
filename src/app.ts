import type { TokenCredential } from '@azure/core-auth';
import type { Container } from '@azure/cosmos';
import { Conversations } from './chat/Conversations.js';
import { LiveTurns } from './chat/LiveTurns.js';
import { ReplyStreams } from './chat/ReplyStreams.js';
import { TurnStops } from './chat/TurnStops.js';
import type { ModelSpec } from './chat/modelCatalog.js';
import { systemClock, type ChatModel, type Clock } from './chat/ports.js';
import type { ChatTokenizer } from './chat/tokenizer/ChatTokenizer.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createCallerResolver } from './http/caller.js';
import type { Services, ServicesSource } from './Services.js';
import { openChatContainer } from './store/cosmosContainer.js';
import { CosmosConversationStore } from './store/CosmosConversationStore.js';
import { CosmosStopRequests } from './store/CosmosStopRequests.js';
import { CosmosTurnReservations } from './store/CosmosTurnReservations.js';
import { CosmosUsageLedger } from './store/CosmosUsageLedger.js';

export type { Services, ServicesSource } from './Services.js';

/** Parts a test or the local host may supply instead of the ones the settings describe. */
export interface ServiceOverrides {
  readonly clock?: Clock;
  readonly container?: Container;
  readonly model?: ChatModel;
  /** Where the model is served instead of `PHI_ENDPOINT` (the local simulator), over the wire `PHI_API` names. */
  readonly modelEndpoint?: { readonly url: string; readonly apiKey: string };
}

let credential: TokenCredential | undefined;

/** `DefaultAzureCredential`, created on first need: most local runs use keys and never load @azure/identity. */
async function azureCredential(): Promise<TokenCredential> {
  if (!credential) {
    const { DefaultAzureCredential } = await import('@azure/identity');
    credential = new DefaultAzureCredential();
  }
  return credential;
}

/** Why a missing endpoint is an error here: the stand-ins are never part of deployed code. */
const STAND_INS_ARE_LOCAL = 'required under a Functions host (only npm start and the tests stand in the embedded store and the Phi simulator)';

type Log = (message: string, error?: unknown) => void;

/** The chat container the settings name, or the one handed in. */
async function chatContainer(config: Config, overrides: ServiceOverrides): Promise<Container> {
  if (overrides.container) return overrides.container;
  const { endpoint, key, database } = config.cosmos;
  if (!endpoint) throw new ConfigError('COSMOS_ENDPOINT', STAND_INS_ARE_LOCAL, '');
  return openChatContainer({ endpoint, key, database, ...(key ? {} : { credential: await azureCredential() }) });
}

/** The adapter `PHI_API` names, reaching `PHI_ENDPOINT` or the endpoint handed in. */
async function chatModel(config: Config, overrides: ServiceOverrides, log: Log): Promise<ChatModel> {
  if (overrides.model) return overrides.model;
  const at = overrides.modelEndpoint ?? (config.phi.endpoint ? { url: config.phi.endpoint, apiKey: config.phi.apiKey } : undefined);
  if (!at) throw new ConfigError('PHI_ENDPOINT', STAND_INS_ARE_LOCAL, '');
  const { api, deployment } = config.phi;
  const wire = {
    endpoint: at.url,
    ...(at.apiKey ? { apiKey: at.apiKey } : { credential: await azureCredential() }),
    ...(config.phi.tokenScope ? { tokenScope: config.phi.tokenScope } : {}),
    firstByteTimeoutMs: config.phi.firstByteTimeoutMs,
    idleTimeoutMs: config.phi.idleTimeoutMs,
    retryBudgetMs: config.phi.retryBudgetMs,
    maxConcurrency: config.phi.maxConcurrency,
    logger: { warn: (message: string) => log(message) },
  };
  // Loaded here, not at import: the model SDKs are the heaviest modules of the app (@azure-rest/ai-inference
  // ~125-240 ms of the cold start), and registering the functions needs neither.
  if (api === 'openai') {
    // loadConfig refuses an openai endpoint without PHI_DEPLOYMENT; the simulator plays the model under its id.
    const { OpenAIChatModel } = await import('./model/OpenAIChatModel.js');
    return new OpenAIChatModel({ ...wire, deployment: deployment ?? config.phi.model.id });
  }
  const { InferenceChatModel } = await import('./model/InferenceChatModel.js');
  return new InferenceChatModel({ ...wire, ...(deployment ? { deployment } : {}) });
}

/**
 * The composition root: the only place that knows every concrete class. It never starts a stand-in: without
 * COSMOS_ENDPOINT / PHI_ENDPOINT the store and the model come as overrides (buildLocalServices hands in the
 * embedded store and the simulator for `npm start`), so deployed code cannot start them.
 */
export async function buildServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const clock = overrides.clock ?? systemClock;
  const log: Log = (message, error) => console.error(`[chat] ${message}`, error instanceof Error ? error.message : (error ?? ''));
  const container = await chatContainer(config, overrides);
  const model = await chatModel(config, overrides, log);

  // Loaded here, not at import: the turn brings in the tokenizers (an 800 KB vocabulary module; the tiktoken ranks
  // load on first use), ~40-70 ms of the cold start that registering the functions does not need.
  const [{ ChatTurns }, { tokenizerFor }] = await Promise.all([import('./chat/ChatTurns.js'), import('./chat/tokenizer/index.js')]);

  const store = new CosmosConversationStore(container, clock);
  const ledger = new CosmosUsageLedger(container);
  const reservations = new CosmosTurnReservations(container, (userId, day) => ledger.tokensOn(userId, day));
  const conversations = new Conversations(store, clock, [config.phi.model]);
  const liveTurns = new LiveTurns();
  const stopRequests = new CosmosStopRequests(container);
  const turns = new ChatTurns({
    store, conversations, model, ledger, reservations, clock,
    tokenizerFor: (spec: ModelSpec): ChatTokenizer => tokenizerFor(spec.tokenizer),
    turnLockSeconds: config.limits.turnLockSeconds,
    checkpointIntervalMs: config.limits.checkpointIntervalMs,
    userDailyTokenLimit: config.limits.userDailyTokenLimit,
    userMaxConcurrentTurns: config.limits.userMaxConcurrentTurns,
    log,
    liveTurns,
    stopRequests,
    autoTitle: config.autoTitle,
  });
  const stops = new TurnStops({
    store, stopRequests, liveTurns, clock,
    recoverLost: (userId, conversation, turnId, now) => turns.recoverLost(userId, conversation, turnId, now),
  });
  const streams = new ReplyStreams({ store, liveTurns, clock, followIntervalMs: config.limits.checkpointIntervalMs });
  return {
    config, clock, store, ledger, reservations, conversations, turns, stops, streams, model,
    callers: createCallerResolver(config.auth),
    // The title calls still running end on their own (by their turn's lease at the latest): nothing is cut off.
    close: () => turns.titlesSettled(),
  };
}

let current: Promise<Services> | undefined;

/** The process's services, built on first use from the environment; a failed build is tried again next time. */
export const services: ServicesSource = () => {
  if (!current) {
    const building = Promise.resolve().then(() => buildServices(loadConfig()));
    building.catch(() => {
      if (current === building) current = undefined;
    });
    current = building;
  }
  return current;
};

/** Whether the process's services exist or are being built (installed by the local host, or built on first use). */
export function hasServices(): boolean {
  return current !== undefined;
}

/** Installs services built elsewhere (the local host, tests) for the handlers to use. */
export function useServices(built: Services | Promise<Services>): void {
  current = Promise.resolve(built);
}
