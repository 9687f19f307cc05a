import { laneAfter } from '../src/chat/BranchPath.js';
import type { Message } from '../src/chat/conversation.js';
import { newId, turnMessageIds } from '../src/chat/ids.js';
import { tokenizerFor } from '../src/chat/tokenizer/index.js';
import { contentTokens } from '../src/chat/tokenizer/messageCost.js';
import type { Services } from '../src/Services.js';
import type { Harness, OutboundRequest } from './harness.js';

/** What one measured request cost the store: requests, queries among them, documents they returned. */
export interface StoreCost {
  readonly requests: number;
  readonly queries: number;
  /** Documents returned by queries and point reads (a COUNT's one value counts 1). */
  readonly documents: number;
}

export interface BranchReads {
  readonly label: string;
  readonly messages: number;
  readonly branches: number;
  /** Messages on the branch the measured turn continues (its path, the new user message not included). */
  readonly pathMessages: number;
  /** The measured turn, from the request to its settle. */
  readonly turn: StoreCost;
  /** The context the turn sent: stored messages included and dropped. */
  readonly included: number;
  /** A page of 50 of the active branch (GET …/messages), and a branch switch (PATCH activeMessageId) to the oldest fork. */
  readonly page: StoreCost;
  readonly switchBranch: StoreCost;
}

function costOf(sent: readonly OutboundRequest[]): StoreCost {
  const store = sent.filter((r) => r.to === 'store' && r.kind !== 'meta' && r.kind !== 'plan');
  return {
    requests: store.length,
    queries: store.filter((r) => r.kind === 'query').length,
    documents: store.reduce((sum, r) => sum + (r.items ?? 0), 0),
  };
}

/** A deterministic PRNG (xorshift32), so every run builds the same tree. */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

/**
 * One turn's documents written through the store port as a turn writes them (lock, user message, placeholder in
 * one batch; the final reply; the totals), placed in the tree as the core places them, without the turn's history
 * reads: seeding 2,000 messages by real turns would read the whole line each time (quadratic on the embedded store).
 */
async function seedTurn(s: Services, user: string, id: string, content: string, parent: Message | null, joinsLeaf: boolean): Promise<Message> {
  const conversation = await s.conversations.get(user, id);
  const tokenizer = tokenizerFor(s.conversations.modelOf(conversation).tokenizer);
  const turnId = newId('t');
  const ids = turnMessageIds(turnId);
  const lane = laneAfter(parent, joinsLeaf, ids.user);
  const at = new Date().toISOString();
  const reply = `Answer about ${content.slice(0, 40)}, in a few words.`;
  const begun = await s.store.beginTurn(user, conversation, {
    turn: { turnId, expiresAt: new Date(Date.now() + 60_000).toISOString() },
    messages: [
      { id: ids.user, conversationId: id, userId: user, role: 'user', content, status: 'complete', createdAt: at, tokenCount: contentTokens(tokenizer, content), turnId, parentId: parent?.id ?? null, ...lane },
      {
        id: ids.assistant, conversationId: id, userId: user, role: 'assistant', content: reply, status: 'complete', createdAt: at,
        tokenCount: contentTokens(tokenizer, reply), turnId, finishReason: 'stop', parentId: ids.user, ...lane,
      },
    ],
    expectedLastSeq: conversation.lastSeq,
  });
  if (!begun.started) throw new Error(`seeding turn refused: ${begun.reason}`);
  await s.store.finishTurn(user, id, { turnId, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, messagesAdded: 2, updatedAt: at });
  return begun.messages[1] as Message;
}

/**
 * `turns` turns (two messages each) in one conversation; with `branches` > 1 each branch after the first starts
 * with an edit after a random earlier reply, so the last one's path runs through a few of the others.
 */
async function seed(s: Services, user: string, turns: number, branches: number): Promise<{ id: string; forkedAt: string[] }> {
  const id = (await s.conversations.create(user, { title: `bench ${branches} branches` })).id;
  const random = prng(20261202 + branches);
  const replies: Message[] = [];
  const forkedAt: string[] = [];
  const perBranch = Math.ceil(turns / branches);
  let leaf: Message | null = null;
  for (let i = 0; i < turns; i += 1) {
    let parent = leaf;
    if (i > 0 && i % perBranch === 0) {
      parent = replies[Math.floor(random() * replies.length)] as Message;
      forkedAt.push(parent.id);
    }
    // Short messages: the whole of any path fits the window, so a turn reads every message it may send.
    leaf = await seedTurn(s, user, id, `Question ${i}: what about item ${i}?`, parent, parent === leaf);
    replies.push(leaf);
  }
  return { id, forkedAt };
}

/** Runs `f` and returns what it cost the store, from this process's log of outbound requests. */
async function measured<T>(h: Harness, f: () => Promise<T>): Promise<{ value: T; cost: StoreCost }> {
  const from = h.outbound.length;
  const value = await f();
  // Writes beside the settle (the reservation's release) finish after the outcome; let them land in the log.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { value, cost: costOf(h.outbound.slice(from)) };
}

/**
 * A 2,000-message conversation as one line, and one of 2,000 messages over 50 branches: what a turn (and a page
 * of the active branch, and a branch switch) costs the store in each. The line's turn reads every message (the
 * window holds them all); the branched one reads the newest page, then only its own path.
 */
export async function benchBranchReads(h: Harness, turns = 1_000, branches = 50): Promise<BranchReads[]> {
  const phase = await h.phase({ replyWords: 4 }, { USER_DAILY_TOKEN_LIMIT: '1000000000' });
  try {
    const s = phase.services;
    const results: BranchReads[] = [];
    for (const [label, n] of [['one line', 1], [`${branches} branches`, branches]] as const) {
      const user = `bench-branches-${n}`;
      const { id, forkedAt } = await seed(s, user, turns, n);
      const conversation = await s.conversations.get(user, id);
      const path = await s.conversations.tree.list(user, id, { limit: 100, order: 'asc', branch: 'active' });
      let pathMessages = path.items.length;
      for (let cursor = path.nextCursor; cursor; ) {
        const next = await s.conversations.tree.list(user, id, { limit: 100, order: 'asc', branch: 'active', cursor });
        pathMessages += next.items.length;
        cursor = next.nextCursor;
      }
      const turn = await measured(h, async () => {
        const started = await s.turns.start(user, id, { content: 'And the next one?' });
        return started.outcome;
      });
      if (turn.value.type !== 'completed') throw new Error('measured turn failed');
      const page = await measured(h, () => s.conversations.tree.list(user, id, { limit: 50, order: 'desc', branch: 'active' }));
      const target = forkedAt[0] ?? conversation.activeLeafId ?? '';
      const switched = await measured(h, () => s.conversations.update(user, id, { activeMessageId: target }));
      results.push({
        label, messages: conversation.messageCount, branches: n, pathMessages, turn: turn.cost,
        included: turn.value.context.messagesIncluded, page: page.cost, switchBranch: switched.cost,
      });
    }
    return results;
  } finally {
    await phase.close();
  }
}
