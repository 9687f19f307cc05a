import type {
  ActiveTurn, Conversation, ConversationSettings, Message, MessageError, MessageFeedback, MessageFinishReason, MessageStatus, TitleSource,
  Usage,
} from '../chat/conversation.js';
import { isSendable, titleSourceOf } from '../chat/conversation.js';
import { searchKey } from '../chat/searchKey.js';
import type { IdempotencyRecord } from '../chat/ConversationStore.js';
import type { UsageEntry } from '../chat/UsageLedger.js';
import type { LaneSpan } from '../chat/BranchPath.js';

/** How documents look in Cosmos DB: private to the store, converted at its boundary. */
export interface ConversationDocument {
  id: string;
  userId: string;
  type: 'conversation';
  title: string;
  /**
   * `searchKey(title)`, written with every title, so a search is a plain CONTAINS on an indexed field. Absent on
   * conversations written before 2026-12-02 (the search falls back on LOWER(title) for those).
   */
  titleKey?: string;
  /** Absent on conversations written before 2026-12-02: `titleSourceOf` judges them. */
  titleSource?: TitleSource | null;
  model: string;
  systemPrompt: string | null;
  settings: ConversationSettings;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  usage: Usage;
  lastSeq: number;
  activeTurn: ActiveTurn | null;
  /** Turn ids already added to the totals, newest last: makes `finishTurn` count each turn once. */
  recentTurns: string[];
  /** Set first when the conversation is deleted: from then on every read treats it as gone. */
  deletedAt?: string;
  /** The active branch's last message and the lanes to it; absent on conversations stored before branches. */
  activeLeafId?: string | null;
  activePath?: LaneSpan[];
  _etag?: string;
}

export interface MessageDocument {
  id: string;
  userId: string;
  type: 'message';
  conversationId: string;
  role: 'user' | 'assistant';
  content: string;
  status: MessageStatus;
  createdAt: string;
  tokenCount: number;
  seq: number;
  turnId: string;
  finishReason?: MessageFinishReason | null;
  usage?: Usage;
  model?: string;
  error?: MessageError;
  leaseUntil?: string;
  feedback?: MessageFeedback;
  /**
   * `isSendable`, stored (and indexed) so the sendable messages a prompt leaves unread can be counted without
   * reading them. Absent on messages written before 2026-11-26.
   */
  sendable?: boolean;
  /** Absent on messages stored before branches (their parent is the previous message). */
  parentId?: string | null;
  /** The lane (id of its first message); absent on the original lane. */
  branch?: string;
  forks?: LaneSpan[];
  /**
   * On the first message of a lane forked off another: that lane (null: the original) and the seq it forks after,
   * so the lanes forked from a lane are one indexed query (`forks`' last entry cannot be filtered on).
   */
  forkLane?: string | null;
  forkSeq?: number;
  _etag?: string;
}

export interface IdempotencyDocument extends IdempotencyRecord {
  id: string;
  userId: string;
  type: 'idempotency';
  /** Seconds until Cosmos removes the record (the contract keeps keys for 24 h). */
  ttl: number;
}

/**
 * One document per turn that used tokens: the ledger itself. Its id derives from the turn id, so it is created
 * exactly once however often (or from however many instances) the turn is recorded.
 */
export interface UsageTurnDocument {
  id: string;
  userId: string;
  type: 'usageTurn';
  day: string;
  turnId: string;
  conversationId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimated?: boolean;
  /** `title`: a title call's usage (`turnId` `title_<turnId>`); absent for a turn's. */
  call?: 'title';
}

/** The ledger's document for a turn; its id derives from the turn id, so a second create of it is a 409. */
export function usageTurnDocument(userId: string, entry: UsageEntry): UsageTurnDocument {
  const { promptTokens, completionTokens, totalTokens, estimated } = entry.usage;
  return {
    id: `usage_${entry.turnId}`, userId, type: 'usageTurn', day: entry.day, turnId: entry.turnId,
    conversationId: entry.conversationId, model: entry.model, promptTokens, completionTokens, totalTokens,
    ...(estimated ? { estimated: true } : {}),
    ...(entry.call ? { call: entry.call } : {}),
  };
}

export function toConversation(doc: ConversationDocument): Conversation {
  return {
    id: doc.id,
    userId: doc.userId,
    title: doc.title,
    titleSource: titleSourceOf(doc),
    model: doc.model,
    systemPrompt: doc.systemPrompt,
    settings: doc.settings,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    messageCount: doc.messageCount,
    usage: doc.usage,
    etag: (doc._etag ?? '').replace(/"/g, ''),
    lastSeq: doc.lastSeq,
    activeTurn: doc.activeTurn,
    ...(doc.activeLeafId !== undefined ? { activeLeafId: doc.activeLeafId, activePath: doc.activePath ?? [] } : {}),
  };
}

/** The fields a title is stored with: the title, its search form and who gave it. */
export function titleFields(title: string, titleSource: TitleSource | null): Pick<ConversationDocument, 'title' | 'titleKey' | 'titleSource'> {
  return { title, titleKey: searchKey(title), titleSource };
}

export function toMessage(doc: MessageDocument): Message {
  const { type: _type, sendable: _sendable, forkLane: _forkLane, forkSeq: _forkSeq, ...message } = doc;
  return stripSystemFields(message) as Message;
}

export function toMessageDocument(message: Message): MessageDocument {
  const fork = message.branch === message.id ? message.forks?.at(-1) : undefined;
  return {
    ...(message as Omit<Message, 'forks'>),
    ...(message.forks ? { forks: [...message.forks] } : {}),
    type: 'message', sendable: isSendable(message),
    ...(fork ? { forkLane: fork.branch, forkSeq: fork.untilSeq } : {}),
  };
}

export function toIdempotencyRecord(doc: IdempotencyDocument): IdempotencyRecord {
  const { key, conversationId, requestHash, turnId, userMessageId, assistantMessageId, createdAt } = doc;
  return { key, conversationId, requestHash, turnId, userMessageId, assistantMessageId, createdAt };
}

function stripSystemFields<T extends object>(doc: T): T {
  const copy = { ...doc } as Record<string, unknown>;
  for (const key of Object.keys(copy)) if (key.startsWith('_')) delete copy[key];
  return copy as T;
}
