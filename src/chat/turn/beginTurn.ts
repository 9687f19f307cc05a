import type { Conversation, Message } from '../conversation.js';
import { ZERO_USAGE } from '../conversation.js';
import type { TurnStart, TurnStartResult } from '../ConversationStore.js';
import { ConflictError, NotFoundError, StoreUnavailableError } from '../errors.js';
import { newId, turnMessageIds } from '../ids.js';
import { LEASE_TIMING } from '../leaseTiming.js';
import { requestHash } from '../requestHash.js';
import type { Reservation } from '../TurnReservations.js';
import type { StartedTurn, TurnRequest } from '../turnTypes.js';
import { planTurn, type TurnPlan } from './planTurn.js';
import { laneAfter } from '../BranchPath.js';
import { resolveBranchPoint } from '../branchPoint.js';
import { releaseTurnReservation, reservationLimits, reserveTurn } from './reserveTurn.js';
import { utcDay } from '../UsageLedger.js';
import { replayTurn } from './replayTurn.js';
import { recoverLostTurn } from './settleTurn.js';
import type { TurnDeps } from './TurnDeps.js';

/** A turn that holds its conversation: its user message and assistant placeholder are stored. */
export interface BegunTurn {
  readonly userId: string;
  readonly plan: TurnPlan;
  readonly userMessage: Message;
  /** `streaming`, with the lease (`leaseUntil`) the turn must finish within. */
  readonly placeholder: Message;
}

export type BeginResult =
  | { readonly kind: 'begun'; readonly turn: BegunTurn }
  | { readonly kind: 'replay'; readonly turn: StartedTurn };

/** The newest messages, read beside the turn's other reads: all of a conversation of up to 50 turns. */
const HISTORY_PAGE_SIZE = 100;

/**
 * Begin: everything that can refuse a turn is decided here, before the model is called, and a refusal leaves
 * nothing stored (404, 409 busy, 422/409 for a reused key, 400 settings, 413, 429 quota or cap, 503 store). In
 * order: the reads (for a plain send, the key's alone when this instance remembers the conversation and its
 * messages); a replay for a known key; the lock (a live turn refuses, a lost one is settled first); the plan; the
 * reservation; then one all-or-none write of the lock, the user message, the `streaming` placeholder and the
 * idempotency record, conditional on the version planned on. A turn planned on memory that meets a newer version
 * releases its reservation and plans once more, on reads. When it resolves `begun`, the user message is stored
 * and the turn holds its conversation and its reservation until it settles or its lease passes.
 */
export async function beginTurn(deps: TurnDeps, userId: string, conversationId: string, request: TurnRequest): Promise<BeginResult> {
  const begun = (await beginOn(deps, userId, conversationId, request, 'remembered'))
    ?? (await beginOn(deps, userId, conversationId, request, 'reads'));
  // A start planned on reads is never answered `stale`; were one, it would be a conversation that kept changing.
  if (!begun) throw new ConflictError();
  return begun;
}

/**
 * One attempt. On `remembered`, a plain send plans on the instance's memory of the conversation and its messages
 * when the store has it (no reads but the key's); null when the conversation changed since (nothing of the
 * attempt is left, and the next plans on reads). A held lock, live or lost, is only ever decided on a read.
 */
async function beginOn(
  deps: TurnDeps, userId: string, conversationId: string, request: TurnRequest, planOn: 'remembered' | 'reads',
): Promise<BeginResult | null> {
  const { store, clock } = deps;
  const now = clock.now();
  // The reservation's reads go beside the turn's own (its write comes after the plan, which says how much to hold).
  deps.reservations.prepare(userId, utcDay(now), reservationLimits(deps));
  const isSend = (request.target ?? { kind: 'send' }).kind === 'send';
  const view = planOn === 'remembered' && isSend ? store.rememberedTurnView(userId, conversationId, HISTORY_PAGE_SIZE) : null;
  const remembered = view?.conversation.activeTurn === null ? view : null;
  const [conversation, newestPage, record] = await Promise.all([
    remembered ? remembered.conversation : store.getConversation(userId, conversationId),
    remembered ? remembered.newestPage : store.recentMessages(userId, conversationId, { limit: HISTORY_PAGE_SIZE }),
    request.idempotencyKey ? store.getIdempotencyRecord(userId, conversationId, request.idempotencyKey) : null,
  ]);
  if (!conversation) throw new NotFoundError('No such conversation.');
  if (record) return { kind: 'replay', turn: await replayTurn(deps, userId, record, request) };
  // A parentId the body may not carry is refused as such (400), even while another turn runs.
  const point = await resolveBranchPoint(store, userId, conversation, newestPage, request.target ?? { kind: 'send' }, now);
  if (isLive(conversation, now)) throw new ConflictError();
  if (conversation.activeTurn) await recoverLostTurn(deps, userId, conversation, conversation.activeTurn.turnId, now);

  const plan = await planTurn(deps, userId, conversation, newestPage, request, point);
  const turnId = newId('t');
  const leaseMs = now.getTime() + deps.turnLockSeconds * 1000;
  // The most this turn can spend, held until it settles; if this instance is lost it expires after the lease and
  // the time settling may take, so it never stops counting while this turn could still be storing its usage.
  const reservation: Reservation = {
    id: turnId, tokens: plan.context.promptTokens + plan.settings.maxTokens,
    expiresAt: new Date(leaseMs + LEASE_TIMING.settleBudgetMs).toISOString(), turn: true,
  };
  await reserveTurn(deps, userId, reservation, now);
  const start = {
    ...turnStart(userId, conversationId, request, plan, turnId, now, new Date(leaseMs).toISOString()),
    ...(remembered ? { planned: 'remembered' as const } : {}),
  };
  const begun = await storeStart(deps, userId, conversation, start, request, now);
  if (!begun.started) {
    await releaseTurnReservation(deps, userId, turnId);
    if (begun.reason === 'stale') return null;
    // Another request with the same key recorded itself between our read and our write: it is the turn for this key.
    throw begun.reason === 'key_taken' ? new ConflictError('The first request with this Idempotency-Key is still running.') : new ConflictError();
  }
  const [userMessage, placeholder] = (point.user ? [point.user, begun.messages[0]] : begun.messages) as [Message, Message];
  return { kind: 'begun', turn: { userId, plan, userMessage, placeholder } };
}

/** The documents the turn's first write stores: the lock, the user message, the placeholder, the key's record. */
function turnStart(
  userId: string, conversationId: string, request: TurnRequest, plan: TurnPlan, turnId: string, now: Date, leaseUntil: string,
): TurnStart {
  const ids = turnMessageIds(turnId);
  const createdAt = now.toISOString();
  const { point } = plan;
  // A regeneration adds only the reply, to the stored user message; its lane opens with the reply.
  const regenerated = point.user;
  const lane = laneAfter(point.parent, point.joinsLeaf, regenerated ? ids.assistant : ids.user);
  const userMessageId = regenerated?.id ?? ids.user;
  const user: Omit<Message, 'seq'> = {
    id: ids.user, conversationId, userId, role: 'user', content: request.content, status: 'complete',
    createdAt, tokenCount: plan.userTokens, turnId, parentId: point.parent?.id ?? null, ...lane,
  };
  return {
    turn: { turnId, expiresAt: leaseUntil },
    messages: [
      ...(regenerated ? [] : [user]),
      {
        id: ids.assistant, conversationId, userId, role: 'assistant', content: '', status: 'streaming',
        createdAt: new Date(now.getTime() + 1).toISOString(), tokenCount: 0, turnId,
        finishReason: null, model: plan.model.id, leaseUntil, context: plan.context, parentId: userMessageId, ...lane,
      },
    ],
    idempotency: request.idempotencyKey === undefined ? undefined : {
      key: request.idempotencyKey, conversationId, requestHash: requestHash(request), turnId,
      userMessageId, assistantMessageId: ids.assistant, createdAt,
    },
    // Planned against this version: a message added since (a racing turn) refuses this one, 409.
    expectedLastSeq: plan.conversation.lastSeq,
    adopt: point.adopt ?? undefined,
  };
}

/** The first write; when it fails, the reservation is released and whatever of the write may have landed undone. */
async function storeStart(
  deps: TurnDeps, userId: string, conversation: Conversation, start: TurnStart, request: TurnRequest, now: Date,
): Promise<TurnStartResult> {
  const { store, log } = deps;
  const { turnId } = start.turn;
  try {
    return await store.beginTurn(userId, conversation, start, now);
  } catch (error) {
    await releaseTurnReservation(deps, userId, turnId);
    // A refusal (404, 413) means nothing landed. A store failure may have lost the answer to a write that did land:
    // undo it, or the client's retry would meet an orphan user message (sent twice) or an idempotency record
    // answering 404. If the clean-up fails too, the store is down, and the client is told 503 either way.
    if (!(error instanceof StoreUnavailableError)) throw error;
    const messageIds = start.messages.map((m) => m.id);
    await store.discardTurn(userId, conversation.id, { turnId, messageIds, idempotencyKey: request.idempotencyKey }).catch((cleanup: unknown) =>
      log?.('could not discard a turn that failed to start; if its write landed, the next turn after its lease settles it as lost', cleanup));
    await store.finishTurn(userId, conversation.id, { turnId, usage: ZERO_USAGE, messagesAdded: 0, updatedAt: now.toISOString() }).catch((unlock: unknown) =>
      log?.('could not free the lock of a turn that failed to start; safe: the lock frees itself when its lease ends', unlock));
    throw error;
  }
}

function isLive(conversation: Conversation, now: Date): boolean {
  return conversation.activeTurn !== null && Date.parse(conversation.activeTurn.expiresAt) > now.getTime();
}
