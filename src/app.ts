import type { TokenCredential } from '@azure/core-auth';
import type { Container } from '@azure/cosmos';
import type { ChatTurns } from './chat/ChatTurns.js';
import type { ConversationStore } from './chat/ConversationStore.js';
import { LiveTurns } from './chat/LiveTurns.js';
import { ReplyStreams } from './chat/ReplyStreams.js';
import { TurnStops } from './chat/TurnStops.js';
import { Conversations } from './chat/Conversations.js';
import type { ModelSpec } from './chat/modelCatalog.js';
import { systemClock, type ChatModel, type Clock } from './chat/ports.js';
import type { ChatTokenizer } from './chat/tokenizer/ChatTokenizer.js';
import type { TurnReservations } from './chat/TurnReservations.js';
import type { UsageLedger } from './chat/UsageLedger.js';
import { loadConfig, type Config } from './config.js';
import { createCallerResolver, type CallerResolver } from './http/caller.js';
import { openChatContainer } from './store/cosmosContainer.js';
import { CosmosConversationStore } from './store/CosmosConversationStore.js';
import { CosmosStopRequests } from './store/CosmosStopRequests.js';
import { CosmosTurnReservations } from './store/CosmosTurnReservations.js';
import { CosmosUsageLedger } from './store/CosmosUsageLedger.js';

/** Everything the function handlers use, built once per process. */
export interface Services {
  readonly config: Config;
  readonly clock: Clock;
  readonly store: ConversationStore;
  readonly ledger: UsageLedger;
  readonly reservations: TurnReservations;
  readonly conversations: Conversations;
  readonly turns: ChatTurns;
  /** Stop a reply, on this instance or through the store. */
  readonly stops: TurnStops;
  /** Resume a reply's stream, live here or followed from the store. */
  readonly streams: ReplyStreams;
  readonly model: ChatModel;
  readonly callers: CallerResolver;
  /** Stops what this process started for itself (the embedded store or simulator), for tests and `npm start`. */
  close(): Promise<void>;
}

/** Parts a test or the local host may supply instead of the ones the settings describe. */
export interface ServiceOverrides {
  readonly clock?: Clock;
  readonly container?: Container;
  readonly model?: ChatModel;
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

/**
 * The composition root: the only place that knows every concrete class. Where a setting is absent it starts
 * the embedded Cosmos-protocol server or the Phi simulator in this process, so the app runs with no account.
 */
export async function buildServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const closers: (() => Promise<void>)[] = [];
  const clock = overrides.clock ?? systemClock;
  const log = (message: string, error?: unknown) => console.error(`[chat] ${message}`, error instanceof Error ? error.message : (error ?? ''));

  let container = overrides.container;
  if (!container) {
    let { endpoint, key } = config.cosmos;
    if (!endpoint) {
      const { startEmbeddedCosmos } = await import('../local/embeddedCosmos.js');
      const embedded = await startEmbeddedCosmos();
      closers.push(() => embedded.close());
      ({ endpoint, key } = embedded);
      console.log(`[chat] COSMOS_ENDPOINT is not set: using the embedded Cosmos-compatible store at ${endpoint}; data lives in memory and is gone when the process stops.`);
    }
    container = await openChatContainer({
      endpoint, key, database: config.cosmos.database, ...(key ? {} : { credential: await azureCredential() }),
    });
  }

  // Loaded here, not at import: the turn brings in the tokenizers (an 800 KB vocabulary module; the tiktoken ranks
  // load on first use), ~40-70 ms of the cold start that registering the functions does not need.
  const [{ ChatTurns }, { tokenizerFor }] = await Promise.all([import('./chat/ChatTurns.js'), import('./chat/tokenizer/index.js')]);

  let model = overrides.model;
  if (!model) {
    let { endpoint, apiKey } = config.phi;
    const { api, deployment } = config.phi;
    if (!endpoint) {
      const { startPhiSimulator } = await import('../local/phiSimulator/startPhiSimulator.js');
      const simulator = await startPhiSimulator({ modelId: config.phi.model.id, tokenizer: tokenizerFor(config.phi.model.tokenizer) });
      closers.push(() => simulator.close());
      endpoint = api === 'openai' ? simulator.openaiUrl : simulator.url;
      apiKey ??= 'local-simulator';
      console.log(`[chat] PHI_ENDPOINT is not set: using the bundled Phi simulator at ${endpoint} (${config.phi.model.id}, ${api} wire).`);
    }
    const wire = {
      endpoint,
      ...(apiKey ? { apiKey } : { credential: await azureCredential() }),
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
      model = new OpenAIChatModel({ ...wire, deployment: deployment ?? config.phi.model.id });
    } else {
      const { InferenceChatModel } = await import('./model/InferenceChatModel.js');
      model = new InferenceChatModel({ ...wire, ...(deployment ? { deployment } : {}) });
    }
  }

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
  });
  const stops = new TurnStops({
    store, stopRequests, liveTurns, clock,
    recoverLost: (userId, conversation, turnId, now) => turns.recoverLost(userId, conversation, turnId, now),
  });
  const streams = new ReplyStreams({ store, liveTurns, clock, followIntervalMs: config.limits.checkpointIntervalMs });
  return {
    config, clock, store, ledger, reservations, conversations, turns, stops, streams, model,
    callers: createCallerResolver(config.auth),
    close: async () => {
      for (const close of closers.reverse()) await close();
    },
  };
}

let current: Promise<Services> | undefined;

/** The process's services, built on first use from the environment; a failed build is tried again next time. */
export function services(): Promise<Services> {
  if (!current) {
    const building = Promise.resolve().then(() => buildServices(loadConfig()));
    building.catch(() => {
      if (current === building) current = undefined;
    });
    current = building;
  }
  return current;
}

/** Whether the process's services exist or are being built (installed by the local host, or built on first use). */
export function hasServices(): boolean {
  return current !== undefined;
}

/** Installs services built elsewhere (the local host, tests) for the handlers to use. */
export function useServices(built: Services | Promise<Services>): void {
  current = Promise.resolve(built);
}
