import type { Message, Page } from './conversation.js';
import { sendableCost } from './contextWindow.js';
import type { ChatTokenizer } from './tokenizer/ChatTokenizer.js';

/** Where a turn reads its conversation's older messages from. */
export interface HistorySource {
  /** The page of older messages, newest first, after `cursor`. */
  next(cursor: string): Promise<Page<Message>>;
  /** How many messages numbered below `seq` would be sent (`isSendable`). */
  countSendableBefore(seq: number): Promise<number>;
}

export interface ReadHistory {
  /** Oldest first: the newest messages, as far back as a prompt could reach. */
  readonly history: Message[];
  /** Sendable messages older than `history`, counted instead of read. */
  readonly olderSendable: number;
}

/**
 * Reads history newest first from `newest` on: further pages only while everything read could still be sent (its
 * sendable cost is within `room`, see `PromptPlan.room`), then the older sendable messages are counted instead of read.
 * `assembleContext` over the result builds the same prompt and counts as over the whole conversation.
 */
export async function readHistory(newest: Page<Message>, source: HistorySource, room: number, tokenizer: ChatTokenizer): Promise<ReadHistory> {
  const newestFirst = [...newest.items];
  let spent = sendableCost(newest.items, tokenizer);
  let cursor = newest.nextCursor;
  while (cursor !== null && spent <= room) {
    const page = await source.next(cursor);
    newestFirst.push(...page.items);
    spent += sendableCost(page.items, tokenizer);
    cursor = page.nextCursor;
  }
  const oldest = newestFirst.at(-1);
  const olderSendable = cursor !== null && oldest ? await source.countSendableBefore(oldest.seq) : 0;
  return { history: newestFirst.reverse(), olderSendable };
}
