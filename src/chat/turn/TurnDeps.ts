import type { ConversationStore } from '../ConversationStore.js';
import type { LiveTurns } from '../LiveTurns.js';
import type { StopRequests } from '../StopRequests.js';
import type { Conversations } from '../Conversations.js';
import type { ModelSpec } from '../modelCatalog.js';
import type { ChatModel, Clock } from '../ports.js';
import type { ChatTokenizer } from '../tokenizer/ChatTokenizer.js';
import type { TurnReservations } from '../TurnReservations.js';
import type { UsageLedger } from '../UsageLedger.js';

/** What every step of a turn works with: the ports and the turn's settings (`ChatTurns`' options). */
export interface TurnDeps {
  readonly store: ConversationStore;
  readonly conversations: Conversations;
  readonly model: ChatModel;
  readonly ledger: UsageLedger;
  /** Where a turn holds its tokens and its place among the caller's turns in flight until it settles. */
  readonly reservations: TurnReservations;
  readonly clock: Clock;
  readonly tokenizerFor: (model: ModelSpec) => ChatTokenizer;
  /**
   * How long a turn may hold its conversation (it stops `LEASE_TIMING.stopBeforeLeaseMs` before); a lost instance's
   * lock frees itself after this, its reservation `LEASE_TIMING.settleBudgetMs` later.
   */
  readonly turnLockSeconds: number;
  readonly userDailyTokenLimit?: number | undefined;
  /** `USER_MAX_CONCURRENT_TURNS`: one caller's turns in flight at once, across instances. */
  readonly userMaxConcurrentTurns: number;
  /** How often a streaming reply is saved, so a lost instance keeps what was produced. */
  readonly checkpointIntervalMs?: number;
  /** Attempts to store the final assistant message when the store is failing. */
  readonly storeAttempts?: number;
  readonly log?: (message: string, error?: unknown) => void;
  /** This instance's running turns, where a stop or a resume that lands here finds them. */
  readonly liveTurns?: LiveTurns;
  /** Stops recorded by other instances, looked for every `stopPollMs` (default 1 s) while the model call runs. */
  readonly stopRequests?: StopRequests;
  readonly stopPollMs?: number;
  /** `AUTO_TITLE`: an untitled conversation's first turn names it with a side call (`titleConversation`); off when absent. */
  readonly autoTitle?: boolean;
}
