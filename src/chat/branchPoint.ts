import { below, onPath, pathTo, type BranchPath, type Placed } from './BranchPath.js';
import type { Conversation, Message, Page } from './conversation.js';
import type { ConversationStore } from './ConversationStore.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { HistorySource } from './historyRead.js';

/** What a turn continues: the active leaf (a plain send), a chosen parent (an edit), or a stored user message (regenerate). */
export type TurnTarget =
  | { readonly kind: 'send'; readonly parentId?: string | null | undefined }
  | { readonly kind: 'regenerate'; readonly messageId: string };

export type PlacedMessage = Placed & { readonly id: string };

/** Where a turn's new messages go in the tree, and which path its prompt is built from. */
export interface BranchPoint {
  /** The message the turn's first new message follows; null: it is a first message. */
  readonly parent: PlacedMessage | null;
  /** The parent is the conversation's active leaf: the new messages stay in its lane. */
  readonly joinsLeaf: boolean;
  /** Regenerate: the stored user message the new reply answers (its `parentId` filled in if it predates branches). */
  readonly user: Message | null;
  /** The prompt's history: the path above the (new or stored) user message. */
  readonly history: BranchPath;
  /** A message stored before branches that gets its `parentId` written, because a sibling of it is being added. */
  readonly adopt: Message | null;
}

/** The active leaf's id: `activeLeafId`, or for a conversation stored before branches its newest message. */
export function leafIdOf(conversation: Conversation, newest: Page<Message>): string | null {
  return conversation.activeLeafId !== undefined ? conversation.activeLeafId : (newest.items[0]?.id ?? null);
}

function activeLeaf(conversation: Conversation, newest: Page<Message>): PlacedMessage | null {
  if (conversation.activeLeafId === undefined) return newest.items[0] ?? null;
  const path = conversation.activePath ?? [];
  const last = path.at(-1);
  if (conversation.activeLeafId === null || !last) return null;
  return { id: conversation.activeLeafId, seq: last.untilSeq, ...(last.branch === null ? {} : { branch: last.branch, forks: path.slice(0, -1) }) };
}

function isLiveStreaming(m: Message, now: Date): boolean {
  return m.status === 'streaming' && Date.parse(m.leaseUntil ?? '') > now.getTime();
}

const NO_PATH: BranchPath = { lanes: [] };

/**
 * Resolves a turn's place in the tree from what the turn has read (the conversation and its newest page), with a
 * point read for an edit's parent or a regenerated message. Refusals: 400 for a `parentId` that is not a finished
 * assistant message of this conversation, 404 for a regenerated id that is not a message of it, 409 for a reply
 * still being written.
 */
export async function resolveBranchPoint(
  store: ConversationStore, userId: string, conversation: Conversation, newest: Page<Message>, target: TurnTarget, now: Date,
): Promise<BranchPoint> {
  const leafId = leafIdOf(conversation, newest);
  let parent: PlacedMessage | null;
  let user: Message | null = null;
  if (target.kind === 'regenerate') {
    const message = await store.getMessage(userId, target.messageId);
    if (!message || message.conversationId !== conversation.id) throw new NotFoundError('No such message.');
    if (isLiveStreaming(message, now)) throw new ConflictError('This reply is still being generated.');
    user = message.role === 'user' ? message : await parentOf(store, userId, message);
    if (!user || user.role !== 'user') {
      throw new ValidationError('This message does not answer a user message.', [{ field: 'messageId', message: 'has no user message to answer' }]);
    }
    if (user.parentId === undefined) user = { ...user, parentId: (await parentOf(store, userId, user))?.id ?? null };
    parent = user;
  } else if (target.parentId === undefined) {
    parent = activeLeaf(conversation, newest);
  } else if (target.parentId === null) {
    parent = null;
  } else {
    const message = await store.getMessage(userId, target.parentId);
    if (!message || message.conversationId !== conversation.id || message.role !== 'assistant' || isLiveStreaming(message, now)) {
      throw new ValidationError('parentId must be a finished assistant message of this conversation.', [
        { field: 'parentId', message: 'must be an assistant message of this conversation that is not streaming' },
      ]);
    }
    parent = message;
  }
  const joinsLeaf = (parent?.id ?? null) === leafId;
  const history = parent === null ? NO_PATH : user ? below(pathTo(user), user.seq) : pathTo(parent);
  const adopt = joinsLeaf ? null : await adoptee(store, userId, conversation.id, parent);
  return { parent, joinsLeaf, user, history, adopt };
}

/** A message's parent: by `parentId`, or for a message stored before branches the original lane's message before it. */
export async function parentOf(store: ConversationStore, userId: string, m: Message): Promise<Message | null> {
  if (m.parentId === null) return null;
  if (m.parentId !== undefined) return store.getMessage(userId, m.parentId);
  return store.originalLaneNeighbour(userId, m.conversationId, m.seq, 'before');
}

/**
 * The child in the original lane of a parent that gains a new child: if it predates branches it has no `parentId`, and
 * would be missing from its new sibling's `siblingIds`, so it gets one in the turn's first write. Children in other
 * lanes always have one.
 */
async function adoptee(store: ConversationStore, userId: string, conversationId: string, parent: PlacedMessage | null): Promise<Message | null> {
  if (parent && parent.branch !== undefined) return null;
  const child = await store.originalLaneNeighbour(userId, conversationId, parent?.seq ?? 0, 'after');
  return child && child.parentId === undefined ? { ...child, parentId: parent?.id ?? null } : null;
}

/** Not a cursor any store issues: "start reading the path's older messages". */
const START = '';

/**
 * The turn's newest page (the whole conversation's newest messages, read before the path was known) narrowed to
 * `path`, and the path's older messages below that page: the page holds every message numbered from its oldest on,
 * so together they are exactly the path, each read once.
 */
export function pathHistory(
  store: ConversationStore, userId: string, conversationId: string, path: BranchPath, newest: Page<Message>, pageSize: number,
): { readonly first: Page<Message>; readonly source: HistorySource } {
  const items = path.lanes.length ? newest.items.filter((m) => onPath(path, m)) : [];
  const oldest = newest.items.at(-1);
  const more = path.lanes.length > 0 && newest.nextCursor !== null && oldest !== undefined;
  const rest = oldest ? below(path, oldest.seq) : path;
  return {
    first: { items, nextCursor: more ? START : null },
    source: {
      next: (cursor) => store.pathMessages(userId, conversationId, rest, { limit: pageSize, order: 'desc', cursor: cursor === START ? undefined : cursor }),
      countSendableBefore: (seq) => store.countSendableOnPath(userId, conversationId, path, seq),
    },
  };
}
