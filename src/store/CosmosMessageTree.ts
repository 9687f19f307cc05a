import type { Container } from '@azure/cosmos';
import type { BranchPath, LaneView } from '../chat/BranchPath.js';
import type { Message, Page } from '../chat/conversation.js';
import type { ConversationStore, MessageLink, PageRequest } from '../chat/ConversationStore.js';
import * as branches from './branchQueries.js';
import { cursorScope, decodeCursor } from './cursor.js';
import { toMessage, type MessageDocument } from './documents.js';
import { pageQuery } from './pageQuery.js';

/** The part of the port that reads the message tree: branch paths, siblings, lanes. */
export type MessageTreeReads = Pick<ConversationStore, 'pathMessages' | 'countSendableOnPath' | 'childrenOf' | 'originalLaneNeighbour' | 'readLane'>;

/** The message tree's reads: each one query (two in parallel for a lane), never a walk per message. */
export class CosmosMessageTree implements MessageTreeReads {
  readonly #container: Container;

  constructor(container: Container) {
    this.#container = container;
  }

  async pathMessages(userId: string, conversationId: string, path: BranchPath, page: PageRequest & { readonly order: 'asc' | 'desc' }): Promise<Page<Message>> {
    const query = branches.pathQuery(userId, conversationId, path, page.order === 'desc' ? 'DESC' : 'ASC');
    if (!path.lanes.length) {
      // No branch (an empty conversation): nothing to query, but a cursor of another list is still refused.
      decodeCursor(page.cursor, cursorScope(query.query, query.parameters ?? []));
      return { items: [], nextCursor: null };
    }
    const result = await pageQuery<MessageDocument>(this.#container, query, userId, page);
    return { items: result.items.map(toMessage), nextCursor: result.nextCursor };
  }

  async countSendableOnPath(userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number> {
    return path.lanes.length ? branches.countSendableOnPath(this.#container, userId, conversationId, path, seq) : 0;
  }

  childrenOf(userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<readonly MessageLink[]> {
    return branches.childrenOf(this.#container, userId, conversationId, parentIds);
  }

  originalLaneNeighbour(userId: string, conversationId: string, seq: number, side: 'before' | 'after'): Promise<Message | null> {
    return branches.originalLaneNeighbour(this.#container, userId, conversationId, seq, side);
  }

  readLane(userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView> {
    return branches.readLane(this.#container, userId, conversationId, branch, fromSeq);
  }
}
