import type { Message } from './conversation.js';

/** A lane's stretch of a path: the lane (`null`: the conversation's original lane) up to and including `untilSeq`. */
export interface LaneSpan {
  readonly branch: string | null;
  readonly untilSeq: number;
}

/**
 * The messages from a root down to one message, as the lanes they lie in, root first; with `beforeSeq`, only those
 * numbered below it. A message joins a lane only after the lane's last message, so every lane is a chain and "lane L
 * up to seq s" is exactly L's stretch of the path: a store reads a whole path with one query, however many other
 * branches the conversation has.
 */
export interface BranchPath {
  readonly lanes: readonly LaneSpan[];
  readonly beforeSeq?: number;
}

/** Where a message lies: enough to know its path without reading its ancestors. */
export type Placed = Pick<Message, 'seq' | 'branch' | 'forks'>;

/** The lanes from a root to `m`, `m`'s own last. */
export function spansTo(m: Placed): LaneSpan[] {
  return [...(m.forks ?? []), { branch: m.branch ?? null, untilSeq: m.seq }];
}

export function pathTo(m: Placed): BranchPath {
  return { lanes: spansTo(m) };
}

/** A conversation stored before branches: one line, its original lane up to its last message. */
export function linePath(lastSeq: number): BranchPath {
  return { lanes: [{ branch: null, untilSeq: lastSeq }] };
}

/** The same path without the messages numbered `seq` and above. */
export function below(path: BranchPath, seq: number): BranchPath {
  return { lanes: path.lanes, beforeSeq: path.beforeSeq === undefined ? seq : Math.min(path.beforeSeq, seq) };
}

export function onPath(path: BranchPath, m: Pick<Message, 'seq' | 'branch'>): boolean {
  if (path.beforeSeq !== undefined && m.seq >= path.beforeSeq) return false;
  const branch = m.branch ?? null;
  return path.lanes.some((lane) => lane.branch === branch && m.seq <= lane.untilSeq);
}

/**
 * The lane of a new message that follows `parent` (null: a first message). It stays in the parent's lane when the
 * parent is the conversation's active leaf (a leaf is always the last of its lane, so the lane stays a chain);
 * otherwise it opens a lane named `laneId` (its own id) whose path above is the parent's. A first message of an
 * empty conversation stays in the original lane.
 */
export function laneAfter(parent: Placed | null, joinsLeaf: boolean, laneId: string): Pick<Message, 'branch' | 'forks'> {
  if (joinsLeaf) return parent?.branch === undefined ? {} : { branch: parent.branch, forks: parent.forks ?? [] };
  return { branch: laneId, forks: parent ? spansTo(parent) : [] };
}

/** A message of a lane, as a lane's walk needs it. */
export interface LaneMember {
  readonly id: string;
  readonly seq: number;
}

/** The first message of a lane that forks off another lane, after the message numbered `forkSeq` there. */
export interface LaneRoot extends LaneMember {
  readonly branch: string;
  readonly forks: readonly LaneSpan[];
  readonly forkSeq: number;
}

/** A lane from a message on: its messages in order (that message first), and the lanes forked from them. */
export interface LaneView {
  readonly members: readonly LaneMember[];
  readonly roots: readonly LaneRoot[];
}

/** Reads lane `branch` (null: the original lane) from the message numbered `fromSeq` on. */
export type LaneReader = (branch: string | null, fromSeq: number) => Promise<LaneView>;

/**
 * The leaf reached from `start` by taking, at each step, the newest child (the highest seq): along a lane the next
 * child is the lane's next message or the first message of a lane forked there, so each lane on the way costs one
 * `read`, never one per message. Returns the leaf's id and its path's lanes.
 */
export async function newestLeaf(start: Placed & { readonly id: string }, read: LaneReader): Promise<{ id: string; path: LaneSpan[] }> {
  let lane = start.branch ?? null;
  let forks = start.forks ?? [];
  let from = start.seq;
  for (;;) {
    const view = await read(lane, from);
    const members = [...view.members].sort((a, b) => a.seq - b.seq);
    const forkedAt = new Map<number, LaneRoot>();
    for (const root of view.roots) {
      const newest = forkedAt.get(root.forkSeq);
      if (!newest || root.seq > newest.seq) forkedAt.set(root.forkSeq, root);
    }
    let i = Math.max(0, members.findIndex((m) => m.seq === from));
    let jump: LaneRoot | undefined;
    for (; ; i += 1) {
      const here = members[i];
      if (!here) throw new Error(`lane ${String(lane)} has no message numbered ${from}`);
      const next = members[i + 1];
      const root = forkedAt.get(here.seq);
      if (root && (!next || root.seq > next.seq)) {
        jump = root;
        break;
      }
      if (!next) return { id: here.id, path: [...forks, { branch: lane, untilSeq: here.seq }] };
    }
    lane = jump.branch;
    forks = jump.forks;
    from = jump.seq;
  }
}
