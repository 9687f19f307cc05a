import type { ChatTurns } from './chat/ChatTurns.js';
import type { ConversationStore } from './chat/ConversationStore.js';
import type { ReplyStreams } from './chat/ReplyStreams.js';
import type { TurnStops } from './chat/TurnStops.js';
import type { Conversations } from './chat/Conversations.js';
import type { ChatModel, Clock } from './chat/ports.js';
import type { TurnReservations } from './chat/TurnReservations.js';
import type { UsageLedger } from './chat/UsageLedger.js';
import type { Config } from './config.js';
import type { CallerResolver } from './http/caller.js';

/** Everything the function handlers use, built once per process by the composition root (src/app.ts). */
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
  /** Stops what was started for these services (locally: the embedded store and the simulator), for tests and `npm start`. */
  close(): Promise<void>;
}

/** How a handler gets the services: handed to it at registration, built on first use. */
export type ServicesSource = () => Promise<Services>;
