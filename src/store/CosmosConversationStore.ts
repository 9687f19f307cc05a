import type { Container } from '@azure/cosmos';
import type { Conversation, Message, Page } from '../chat/conversation.js';
import type {
  ConversationChanges, ConversationListRequest, ConversationStore, DiscardedTurn, IdempotencyRecord, MessageLink,
  NewConversation, PageRequest, TurnOutcome, TurnStart, TurnStartResult, TurnView,
} from '../chat/ConversationStore.js';
import type { BranchPath, LaneView } from '../chat/BranchPath.js';
import { CosmosMessageTree } from './CosmosMessageTree.js';
import { systemClock, type Clock } from '../chat/ports.js';
import type { UsageEntry } from '../chat/UsageLedger.js';
import { guard } from './cosmosErrors.js';
import { ConversationDocuments } from './ConversationDocuments.js';
import { toConversation } from './documents.js';
import { CosmosConversations } from './CosmosConversations.js';
import { CosmosDeletion } from './CosmosDeletion.js';
import { CosmosTitlesAndFeedback } from './CosmosTitlesAndFeedback.js';
import { CosmosTurnLock } from './CosmosTurnLock.js';

/**
 * The ConversationStore port over one Cosmos container partitioned by `/userId`: conversations, messages and
 * idempotency records. It only composes its concerns (CosmosConversations, CosmosTurnLock, CosmosDeletion,
 * CosmosTitlesAndFeedback, CosmosMessageTree), which share one ConversationDocuments: the instance's memory of conversations, so a turn's lock follows the read
 * before it without another round trip.
 */
export class CosmosConversationStore implements ConversationStore {
  readonly #container: Container;
  readonly #documents: ConversationDocuments;
  readonly #conversations: CosmosConversations;
  readonly #turns: CosmosTurnLock;
  readonly #deletion: CosmosDeletion;
  readonly #annotations: CosmosTitlesAndFeedback;
  readonly #tree: CosmosMessageTree;

  /** `clock` is the one the turn uses: lock expiry, tombstones and idempotency windows are all read against it. */
  constructor(container: Container, clock: Clock = systemClock) {
    const documents = new ConversationDocuments(container);
    this.#container = container;
    this.#documents = documents;
    this.#conversations = new CosmosConversations(container, documents);
    this.#deletion = new CosmosDeletion(container, clock, documents);
    this.#turns = new CosmosTurnLock(container, clock, documents, this.#deletion);
    this.#annotations = new CosmosTitlesAndFeedback(container, documents);
    this.#tree = new CosmosMessageTree(container);
  }

  createConversation(userId: string, input: NewConversation): Promise<Conversation> {
    return this.#conversations.createConversation(userId, input);
  }

  getConversation(userId: string, conversationId: string): Promise<Conversation | null> {
    return this.#conversations.getConversation(userId, conversationId);
  }

  listConversations(userId: string, page: ConversationListRequest): Promise<Page<Conversation>> {
    return this.#conversations.listConversations(userId, page);
  }

  setAutoTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null> {
    return this.#annotations.setAutoTitle(userId, conversationId, title);
  }

  modifyMessage(userId: string, conversationId: string, messageId: string, change: (message: Message) => Message): Promise<Message> {
    return this.#annotations.modifyMessage(userId, conversationId, messageId, change);
  }

  updateConversation(userId: string, conversationId: string, changes: ConversationChanges, ifMatch?: string): Promise<Conversation> {
    return this.#conversations.updateConversation(userId, conversationId, changes, ifMatch);
  }

  deleteConversation(userId: string, conversationId: string): Promise<boolean> {
    return this.#deletion.deleteConversation(userId, conversationId);
  }

  listMessages(userId: string, conversationId: string, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    return this.#conversations.listMessages(userId, conversationId, page);
  }

  rememberedTurnView(userId: string, conversationId: string, limit: number): TurnView | null {
    const known = this.#documents.rememberedWithMessages(userId, conversationId, limit);
    if (!known) return null;
    return { conversation: toConversation(known.doc), newestPage: { items: known.messages.reverse(), nextCursor: null } };
  }

  recentMessages(userId: string, conversationId: string, page: PageRequest): Promise<Page<Message>> {
    return this.#conversations.recentMessages(userId, conversationId, page);
  }

  getMessage(userId: string, messageId: string): Promise<Message | null> {
    return this.#conversations.getMessage(userId, messageId);
  }

  pathMessages(userId: string, conversationId: string, path: BranchPath, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    return this.#tree.pathMessages(userId, conversationId, path, page);
  }

  countSendableOnPath(userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number> {
    return this.#tree.countSendableOnPath(userId, conversationId, path, seq);
  }

  childrenOf(userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<readonly MessageLink[]> {
    return this.#tree.childrenOf(userId, conversationId, parentIds);
  }

  originalLaneNeighbour(userId: string, conversationId: string, seq: number, side: 'before' | 'after'): Promise<Message | null> {
    return this.#tree.originalLaneNeighbour(userId, conversationId, seq, side);
  }

  readLane(userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView> {
    return this.#tree.readLane(userId, conversationId, branch, fromSeq);
  }

  beginTurn(userId: string, conversation: Pick<Conversation, 'id' | 'etag'>, start: TurnStart, now?: Date): Promise<TurnStartResult> {
    return this.#turns.beginTurn(userId, conversation, start, now);
  }

  putMessage(message: Message): Promise<Message> {
    return this.#conversations.putMessage(message);
  }

  settleMessage(message: Message, usage: UsageEntry | null, finish?: TurnOutcome): Promise<boolean> {
    return this.#conversations.settleMessage(message, usage, finish);
  }

  finishTurn(userId: string, conversationId: string, outcome: TurnOutcome): Promise<void> {
    return this.#turns.finishTurn(userId, conversationId, outcome);
  }

  discardTurn(userId: string, conversationId: string, turn: DiscardedTurn): Promise<void> {
    return this.#turns.discardTurn(userId, conversationId, turn);
  }

  getIdempotencyRecord(userId: string, conversationId: string, key: string): Promise<IdempotencyRecord | null> {
    return this.#turns.getIdempotencyRecord(userId, conversationId, key);
  }

  sweepDeleted(): Promise<number> {
    return this.#deletion.sweepDeleted();
  }

  async ping(): Promise<void> {
    await guard(() => this.#container.read());
  }
}
