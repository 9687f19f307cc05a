import { linePath, newestLeaf, type LaneSpan } from './BranchPath.js';
import { parentOf } from './branchPoint.js';
import type { Conversation, Message, Page } from './conversation.js';
import type { ConversationStore, PageRequest } from './ConversationStore.js';
import { NotFoundError, ValidationError } from './errors.js';

/** A message as branch listings show it: its parent resolved (also for messages stored before branches) and its siblings. */
export type TreeMessage = ParentedMessage & { readonly siblingIds: readonly string[] };

/** A message with its parent resolved, also for messages stored before branches. */
export type ParentedMessage = Message & { readonly parentId: string | null };

/** Messages per store read of {@link MessageTree.walk}; a Cosmos page also stops at 4 MB, whatever the count. */
const WALK_PAGE = 100;

export interface MessagePageRequest extends PageRequest {
  readonly order: 'asc' | 'desc';
  /** `active`: the active branch only; `all`: every message of every branch. */
  readonly branch: 'active' | 'all';
}

/**
 * Reading the message tree: a branch page, one message, the leaf a branch switch lands on. A page costs its query,
 * one query for the siblings of everything on it, and for messages stored before branches at most one more for the
 * parent of the first of them.
 */
export class MessageTree {
  readonly #store: ConversationStore;

  constructor(store: ConversationStore) {
    this.#store = store;
  }

  async list(userId: string, conversationId: string, page: MessagePageRequest): Promise<Page<TreeMessage>> {
    const store = this.#store;
    let result: Page<Message>;
    if (page.branch === 'all') {
      result = await store.listMessages(userId, conversationId, page);
    } else {
      const conversation = await store.getConversation(userId, conversationId);
      if (!conversation) throw new NotFoundError('No such conversation.');
      result = await store.pathMessages(userId, conversationId, activePathOf(conversation), page);
    }
    return { items: await this.#decorate(userId, conversationId, result.items), nextCursor: result.nextCursor };
  }

  async get(userId: string, conversationId: string, messageId: string): Promise<TreeMessage> {
    const [conversation, message] = await Promise.all([
      this.#store.getConversation(userId, conversationId),
      this.#store.getMessage(userId, messageId),
    ]);
    if (!conversation || !message || message.conversationId !== conversationId) throw new NotFoundError('No such message.');
    const [decorated] = await this.#decorate(userId, conversationId, [message]);
    return decorated as TreeMessage;
  }

  /**
   * The leaf of the branch through `messageId`, continued at each step by the newest child; a few queries per lane
   * on the way (see `newestLeaf`). 400 for an id that is not a message of this conversation.
   */
  async leafThrough(userId: string, conversationId: string, messageId: string): Promise<{ id: string; path: LaneSpan[] }> {
    const message = await this.#store.getMessage(userId, messageId);
    if (!message || message.conversationId !== conversationId) {
      throw new ValidationError('activeMessageId must be a message of this conversation.', [
        { field: 'activeMessageId', message: 'is not a message of this conversation' },
      ]);
    }
    return newestLeaf(message, (branch, fromSeq) => this.#store.readLane(userId, conversationId, branch, fromSeq));
  }

  /** `activeLeafId` as the contract shows it: for a conversation stored before branches, its newest message. */
  async withActiveLeaf(userId: string, conversation: Conversation): Promise<Conversation & { readonly activeLeafId: string | null }> {
    if (conversation.activeLeafId !== undefined) return { ...conversation, activeLeafId: conversation.activeLeafId };
    const newest = conversation.lastSeq === 0 ? null : (await this.#store.recentMessages(userId, conversation.id, { limit: 1 })).items[0];
    return { ...conversation, activeLeafId: newest?.id ?? null };
  }

  /**
   * Every message of `conversation` (as the caller read it) oldest first, a page at a time: every branch (`all`), or
   * the active branch of that version, so a branch switch during the walk never mixes two branches. The first page
   * is read before this resolves (a failure is the caller's to answer); each next one only when the previous has
   * been taken, so a reader holds one page at a time. Parents resolved as in listings; no sibling ids (the parents
   * give them), and no sibling query per page.
   */
  async walk(userId: string, conversation: Conversation, branch: 'active' | 'all'): Promise<AsyncIterable<readonly ParentedMessage[]>> {
    const path = activePathOf(conversation);
    const read = (cursor: string | undefined) => {
      const page = { limit: WALK_PAGE, cursor, order: 'asc' as const };
      return branch === 'all'
        ? this.#store.listMessages(userId, conversation.id, page)
        : this.#store.pathMessages(userId, conversation.id, path, page);
    };
    const first = await read(undefined);
    const withParents = (items: readonly Message[], previous: Message | undefined) => this.#withParents(userId, items, previous);
    return (async function* pages() {
      // The last original-lane message of the pages before: the parent of a pre-branch message that opens a page.
      let previous: Message | undefined;
      for (let page = first; ; page = await read(page.nextCursor ?? undefined)) {
        if (page.items.length) yield await withParents(page.items, previous);
        previous = page.items.findLast((m) => m.branch === undefined) ?? previous;
        if (!page.nextCursor) return;
      }
    })();
  }

  /** Parents resolved (a pre-branch message follows the original lane's previous one) and sibling ids attached. */
  async #decorate(userId: string, conversationId: string, items: readonly Message[]): Promise<TreeMessage[]> {
    const withParents = await this.#withParents(userId, items, undefined);
    if (!withParents.length) return [];
    const links = await this.#store.childrenOf(userId, conversationId, [...new Set(withParents.map((m) => m.parentId))]);
    return withParents.map((m) => {
      const siblings = links.filter((l) => l.parentId === m.parentId);
      if (!siblings.some((l) => l.id === m.id)) siblings.push({ id: m.id, parentId: m.parentId, seq: m.seq });
      return { ...m, siblingIds: siblings.sort((a, b) => a.seq - b.seq).map((l) => l.id) };
    });
  }

  /** `previous`: a message read before `items`, in seq order, that may be the parent of the first pre-branch one. */
  #withParents(userId: string, items: readonly Message[], previous: Message | undefined): Promise<ParentedMessage[]> {
    const known = previous ? [previous, ...items] : items;
    return Promise.all(items.map(async (m): Promise<ParentedMessage> => {
      if (m.parentId !== undefined) return { ...m, parentId: m.parentId };
      const before = known.filter((o) => o.branch === undefined && o.seq < m.seq).sort((a, b) => b.seq - a.seq)[0];
      const parent = before ?? (await parentOf(this.#store, userId, m));
      return { ...m, parentId: parent?.id ?? null };
    }));
  }
}

/** The active branch's lanes: stored with the leaf, or for a conversation stored before branches its one line. */
export function activePathOf(conversation: Conversation): { readonly lanes: readonly LaneSpan[] } {
  if (conversation.activeLeafId === undefined) return linePath(conversation.lastSeq);
  return { lanes: conversation.activeLeafId === null ? [] : (conversation.activePath ?? []) };
}
