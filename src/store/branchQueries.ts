import type { Container, JSONValue, SqlQuerySpec } from '@azure/cosmos';
import type { BranchPath, LaneRoot, LaneSpan, LaneView } from '../chat/BranchPath.js';
import type { Message } from '../chat/conversation.js';
import type { MessageLink } from '../chat/ConversationStore.js';
import { queryPartition } from './cosmosQuery.js';
import { toMessage, type MessageDocument } from './documents.js';

const MESSAGES = 'c.userId = @userId AND c.type = "message" AND c.conversationId = @conversationId';

/** The original lane is the one without a `branch` (every message stored before branches is in it). */
function laneIs(branch: string | null, name: string): string {
  return branch === null ? 'NOT IS_DEFINED(c.branch)' : `c.branch = @${name}`;
}

/** `path` as a filter: one term per lane, each a range of the (type, conversationId, seq) index within that lane. */
export function pathFilter(path: BranchPath): { readonly clause: string; readonly parameters: Record<string, JSONValue> } {
  const parameters: Record<string, JSONValue> = {};
  const terms = path.lanes.map((lane, i) => {
    if (lane.branch !== null) parameters[`lane${i}`] = lane.branch;
    parameters[`until${i}`] = lane.untilSeq;
    return `(${laneIs(lane.branch, `lane${i}`)} AND c.seq <= @until${i})`;
  });
  let clause = terms.length ? `(${terms.join(' OR ')})` : 'false';
  if (path.beforeSeq !== undefined) {
    parameters.beforeSeq = path.beforeSeq;
    clause += ' AND c.seq < @beforeSeq';
  }
  return { clause, parameters };
}

/** The messages on `path`, in seq order: the query a page of a branch (or a turn's history) is read with. */
export function pathQuery(userId: string, conversationId: string, path: BranchPath, direction: 'ASC' | 'DESC'): SqlQuerySpec {
  const { clause, parameters } = pathFilter(path);
  return {
    // Equality fields lead the ORDER BY so the (type, conversationId, seq) composite index serves it, as for the list.
    query: `SELECT * FROM c WHERE ${MESSAGES} AND ${clause} ORDER BY c.type ASC, c.conversationId ASC, c.seq ${direction}`,
    parameters: [
      { name: '@userId', value: userId },
      { name: '@conversationId', value: conversationId },
      ...Object.entries(parameters).map(([name, value]) => ({ name: `@${name}`, value })),
    ],
  };
}

export async function countSendableOnPath(container: Container, userId: string, conversationId: string, path: BranchPath, seq: number): Promise<number> {
  const { clause, parameters } = pathFilter(path);
  const older = `SELECT VALUE COUNT(1) FROM c WHERE ${MESSAGES} AND ${clause} AND c.seq < @seq `;
  // Two queries, so the first stays answerable from the index alone (an OR with the second would make Cosmos load
  // every older document): the flagged messages from the index alone, the unflagged (older) ones judged by content.
  const counts = await Promise.all([
    queryPartition<number>(container, userId, `${older}AND c.sendable = true`, { conversationId, seq, ...parameters }),
    queryPartition<number>(
      container, userId, `${older}AND NOT IS_DEFINED(c.sendable) AND c.status != "failed" AND LENGTH(TRIM(c.content)) > 0`,
      { conversationId, seq, ...parameters },
    ),
  ]);
  return counts.flat().reduce((sum, n) => sum + n, 0);
}

export async function childrenOf(container: Container, userId: string, conversationId: string, parentIds: readonly (string | null)[]): Promise<MessageLink[]> {
  const ids = [...new Set(parentIds.filter((id): id is string => id !== null))];
  const terms: string[] = [];
  const parameters: Record<string, JSONValue> = { conversationId };
  if (ids.length) {
    ids.forEach((id, i) => (parameters[`p${i}`] = id));
    terms.push(`c.parentId IN (${ids.map((_, i) => `@p${i}`).join(', ')})`);
  }
  if (parentIds.includes(null)) terms.push('IS_NULL(c.parentId)');
  if (!terms.length) return [];
  const rows = await queryPartition<{ id: string; parentId: string | null; seq: number }>(
    container, userId, `SELECT c.id, c.parentId, c.seq FROM c WHERE ${MESSAGES} AND (${terms.join(' OR ')})`, parameters,
  );
  return rows.map(({ id, parentId, seq }) => ({ id, parentId, seq }));
}

export async function originalLaneNeighbour(
  container: Container, userId: string, conversationId: string, seq: number, side: 'before' | 'after',
): Promise<Message | null> {
  const [doc] = await queryPartition<MessageDocument>(
    container, userId,
    `SELECT TOP 1 * FROM c WHERE ${MESSAGES} AND NOT IS_DEFINED(c.branch) AND c.seq ${side === 'before' ? '<' : '>'} @seq ` +
      `ORDER BY c.type ASC, c.conversationId ASC, c.seq ${side === 'before' ? 'DESC' : 'ASC'}`,
    { conversationId, seq },
  );
  return doc ? toMessage(doc) : null;
}

/** Two projected queries in parallel: the lane's messages from `fromSeq` on, and the first messages of lanes forked off them. */
export async function readLane(container: Container, userId: string, conversationId: string, branch: string | null, fromSeq: number): Promise<LaneView> {
  const lane: Record<string, JSONValue> = branch === null ? {} : { lane: branch };
  const [members, roots] = await Promise.all([
    queryPartition<{ id: string; seq: number }>(
      container, userId, `SELECT c.id, c.seq FROM c WHERE ${MESSAGES} AND ${laneIs(branch, 'lane')} AND c.seq >= @fromSeq`,
      { conversationId, fromSeq, ...lane },
    ),
    queryPartition<{ id: string; seq: number; branch: string; forks: LaneSpan[]; forkSeq: number }>(
      container, userId,
      `SELECT c.id, c.seq, c.branch, c.forks, c.forkSeq FROM c WHERE ${MESSAGES} AND ` +
        `${branch === null ? 'IS_NULL(c.forkLane)' : 'c.forkLane = @lane'} AND c.forkSeq >= @fromSeq`,
      { conversationId, fromSeq, ...lane },
    ),
  ]);
  return {
    members: members.map(({ id, seq }) => ({ id, seq })),
    roots: roots.map(({ id, seq, branch: b, forks, forkSeq }): LaneRoot => ({ id, seq, branch: b, forks, forkSeq })),
  };
}
