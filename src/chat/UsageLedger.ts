import type { Usage } from './conversation.js';

/** One turn's usage, attributed to the caller, the conversation, the model and the UTC day. */
export interface UsageEntry {
  readonly turnId: string;
  readonly conversationId: string;
  readonly model: string;
  readonly day: string;
  readonly usage: Usage;
  /** A side call's usage (a title: `turnId` is then `title_<turnId>`); absent for a turn's own. */
  readonly call?: 'title';
}

export interface DayUsage {
  readonly date: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly requests: number;
}

/**
 * The per-caller token ledger. `record` is idempotent by turn id: a turn is counted once however often (or by
 * however many instances) it is recorded, and the first entry stands; a recorded turn is in every total read after
 * it (no total is kept apart from what was recorded).
 * It survives the deletion of the conversation the tokens were spent in.
 */
export interface UsageLedger {
  /** Total tokens the caller has spent on that UTC day. */
  tokensOn(userId: string, day: string): Promise<number>;
  record(userId: string, entry: UsageEntry): Promise<void>;
  /** Per-day rows for the days in [from, to] that have usage, oldest first. */
  days(userId: string, from: string, to: string): Promise<readonly DayUsage[]>;
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Whole seconds from `at` to the next UTC midnight (at least 1). */
export function secondsToUtcMidnight(at: Date): number {
  const next = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - at.getTime()) / 1000));
}
