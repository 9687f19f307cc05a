import type { Message } from '../chat/conversation.js';
import { toMessage, toMessageDocument } from './documents.js';
import { RecentMap } from './RecentMap.js';

/** Conversations whose messages are kept: a few, since a conversation's messages may be large. */
const HISTORIES_KEPT = 128;
/**
 * A conversation with more messages than a turn's newest page, or more text than this, is read, not kept: with
 * HISTORIES_KEPT, at most 12.8M characters of messages per instance (13–26 MB).
 */
const MESSAGES_KEPT = 100;
const CHARACTERS_KEPT = 100_000;

interface History {
  /** The conversation's etag these messages are all of its messages at. */
  readonly etag: string;
  /** By `seq`, ascending; as a read would return them. */
  readonly messages: Message[];
  characters: number;
}

/**
 * All the messages of small conversations, as this instance wrote or last knew them, each list tied to the
 * conversation etag it is complete at. Every message added to a conversation is added by a write of the
 * conversation document (the turn's first batch, which moves `lastSeq`), so a list is known complete at an etag
 * only when this instance made that write from the etag before it (`started`) or a conditional replace that adds
 * no message (`moved`); messages this instance changes in place are changed here too, and any write whose outcome
 * is unknown forgets the list. Other instances change messages in place only in what no prompt reads (feedback), or
 * under a lock whose release moves the etag.
 */
export class RememberedHistories {
  readonly #histories = new RecentMap<string, History>(HISTORIES_KEPT);

  /** A new conversation: no messages at `etag`. */
  created(userId: string, conversationId: string, etag: string | undefined): void {
    if (etag) this.#histories.set(key(userId, conversationId), { etag, messages: [], characters: 0 });
  }

  /** The messages at `etag` (copies), when this instance knows all of them; null otherwise. */
  at(userId: string, conversationId: string, etag: string | undefined): Message[] | null {
    const history = this.#histories.get(key(userId, conversationId));
    return history && etag && history.etag === etag ? structuredClone(history.messages) : null;
  }

  /** A conditional replace from `from` to `to` that adds no message: what was complete at `from` is at `to`. */
  moved(userId: string, conversationId: string, from: string | undefined, to: string | undefined): void {
    const k = key(userId, conversationId);
    const history = this.#histories.get(k);
    if (!history) return;
    if (from && to && history.etag === from) this.#histories.set(k, { ...history, etag: to });
    else if (to !== history.etag) this.#histories.delete(k);
  }

  /** A turn's first batch from `from` to `to`: its messages added, a message it adopted replaced. */
  started(userId: string, conversationId: string, from: string | undefined, to: string | undefined, added: readonly Message[], adopted?: Message): void {
    const k = key(userId, conversationId);
    const history = this.#histories.get(k);
    if (!history || !from || !to || history.etag !== from) {
      this.#histories.delete(k);
      return;
    }
    const next: History = { etag: to, messages: history.messages, characters: history.characters };
    this.#histories.set(k, next);
    if (adopted) this.changed(adopted);
    for (const message of added) this.#put(k, next, message, true);
  }

  /** A message this instance wrote in place (a checkpoint, a settle, feedback), as stored. */
  changed(message: Message): void {
    const k = key(message.userId, message.conversationId);
    const history = this.#histories.get(k);
    if (history) this.#put(k, history, message);
  }

  /** `write`'s outcome; when it throws (it may have landed with its answer lost), the list is forgotten first. */
  async forgetOnThrow<T>(userId: string, conversationId: string, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (error) {
      this.forget(userId, conversationId);
      throw error;
    }
  }

  /** What this instance no longer knows for sure: a write whose answer was lost, a delete. */
  forget(userId: string, conversationId: string): void {
    this.#histories.delete(key(userId, conversationId));
  }

  #put(k: string, history: History, message: Message, added = false): void {
    const stored = asStored(message);
    const index = history.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) {
      history.characters -= history.messages[index]!.content.length;
      history.messages[index] = stored;
    } else if (added) {
      history.messages.push(stored);
    } else {
      // A message of this conversation it did not see added: the list can no longer say it is all of them.
      this.#histories.delete(k);
      return;
    }
    history.characters += stored.content.length;
    if (history.messages.length > MESSAGES_KEPT || history.characters > CHARACTERS_KEPT) this.#histories.delete(k);
  }
}

/** The message as a read returns it (what JSON keeps, the document's own fields dropped). */
function asStored(message: Message): Message {
  return toMessage(JSON.parse(JSON.stringify(toMessageDocument(message))) as ReturnType<typeof toMessageDocument>);
}

function key(userId: string, conversationId: string): string {
  return `${userId}\n${conversationId}`;
}
