import { asLost, type Conversation, type Message, type Usage, ZERO_USAGE } from '../conversation.js';
import { ChatError, StoreUnavailableError } from '../errors.js';
import { turnMessageIds } from '../ids.js';
import type { ChatTokenizer } from '../tokenizer/ChatTokenizer.js';
import { contentTokens } from '../tokenizer/messageCost.js';
import type { TurnOutcomeEvent } from '../turnTypes.js';
import { utcDay } from '../UsageLedger.js';
import type { BegunTurn } from './beginTurn.js';
import type { Reply } from './relayReply.js';
import { releaseTurnReservation } from './reserveTurn.js';
import { retryWrite } from './retryWrite.js';
import type { TurnDeps } from './TurnDeps.js';

const LOST_SETTLE = 'the placeholder stays streaming, its reservation counts the tokens, and the next turn after its lease settles it (recoverLostTurn)';

/**
 * Settle: the reply's final message (its status from how the call ended) and the turn's usage (the model's own, or
 * the service's exact count marked estimated) go in one all-or-none write, retried as one: the tokens are spent
 * once the model has answered, and a message never carries usage the ledger lacks (the store may put the
 * conversation's totals and lock in that write too). Then, beside each other, the reservation is released and, if
 * the first write did not, the conversation's totals and lock are written. If that first write never lands,
 * nothing more is written: the placeholder stays `streaming`, its reservation keeps counting its tokens, and once
 * the lease has passed the next turn in the conversation settles it (`recoverLostTurn`). Either way a turn's
 * tokens are counted exactly once, and the outcome says whether the reply is stored.
 */
export async function settleTurn(deps: TurnDeps, turn: BegunTurn, reply: Reply): Promise<TurnOutcomeEvent> {
  const { plan, placeholder, userId } = turn;
  const filtered = reply.failure?.code === 'content_filtered' || reply.finishReason === 'content_filter';
  // A stopped reply is `incomplete` even with nothing produced: it was cut, not refused.
  const status: Message['status'] = filtered ? 'filtered' : reply.cancelled ? 'incomplete' : reply.failure ? (reply.content ? 'incomplete' : 'failed') : 'complete';
  const failure = filtered && !reply.failure ? new ChatError('content_filtered', "The model's content filter stopped the reply.") : reply.failure;
  const usage = usageOf(reply, plan.context.promptTokens, plan.tokenizer);
  const at = deps.clock.now();
  const { leaseUntil: _leaseUntil, ...settled } = placeholder;
  const message: Message = {
    ...settled,
    content: reply.content,
    status,
    tokenCount: reply.content ? contentTokens(plan.tokenizer, reply.content) : 0,
    finishReason: filtered ? 'content_filter' : reply.cancelled ? 'cancelled' : reply.finishReason,
    model: plan.model.id,
    ...(usage ? { usage } : {}),
    ...(failure ? { error: { code: failure.code, detail: failure.message } } : {}),
  };
  const conversationId = plan.conversation.id;
  const entry = usage && { turnId: message.turnId, conversationId, model: message.model ?? plan.model.id, day: utcDay(at), usage };
  const outcome = { turnId: message.turnId, usage: usage ?? ZERO_USAGE, messagesAdded: turn.plan.messagesAdded, updatedAt: at.toISOString() };
  // The store may free the lock and add the totals in the same write (one request fewer); if not, finishTurn does.
  let finished = false;
  if (!(await retryWrite(deps, 'assistant message and its usage', LOST_SETTLE, async () => {
    finished = await deps.store.settleMessage(message, entry, outcome);
  }))) {
    // The client has the reply, but `message.completed` promises it is stored: say what happened instead.
    return { type: 'failed', error: new StoreUnavailableError('The reply was sent but could not be stored: the database is unreachable.'), message };
  }
  await Promise.all([
    retryWrite(deps, 'reservation release', 'safe: it expires after the lease and the settle budget', () => deps.reservations.release(userId, message.turnId, at)),
    finished || retryWrite(deps, 'conversation totals', 'safe: the lock still names the turn, so the next turn after its lease adds them (recoverLostTurn)', () => deps.store.finishTurn(userId, conversationId, outcome)),
  ]);
  return failure ? { type: 'failed', error: failure, message } : { type: 'completed', message, context: plan.context };
}

/**
 * Settles a turn whose lease passed while its conversation's lock still names it: its instance was lost, or its
 * final write never landed. A reply still `streaming` is stored as what was saved of it (`asLost`: `incomplete`,
 * `instance_lost`), with usage estimated from it (the prompt was sent, the saved text was produced): its ledger
 * record first (the ledger keeps a record already there, so a turn is never counted twice, and a message never
 * carries usage the ledger lacks), then the message, conditional on the version read so nothing set on it
 * meanwhile (feedback) is lost. Then its
 * reservation and its conversation totals, as a settle does. A failure here refuses the new turn (503) and leaves
 * the lost one recoverable by the next.
 */
export async function recoverLostTurn(deps: TurnDeps, userId: string, conversation: Conversation, turnId: string, now: Date): Promise<void> {
  const { store } = deps;
  const stored = await store.getMessage(userId, turnMessageIds(turnId).assistant);
  let usage = stored?.usage ?? null;
  if (stored?.status === 'streaming') {
    const tokenizer = deps.tokenizerFor(deps.conversations.modelOf(conversation));
    const promptTokens = stored.context?.promptTokens ?? 0;
    const estimate = estimatedUsage(promptTokens, tokenizer, stored.content);
    usage = estimate.totalTokens > 0 ? estimate : null;
    const settled = usage;
    if (settled) {
      await deps.ledger.record(userId, { turnId, conversationId: conversation.id, model: stored.model ?? conversation.model, day: utcDay(new Date(stored.createdAt)), usage: settled });
    }
    // Written over the version it reads (retried on a change): feedback given to the lost reply meanwhile (allowed
    // once its turn can no longer write) is kept, and a reply another recovery settled first is left as it is.
    await store.modifyMessage(userId, conversation.id, stored.id, (current) =>
      current.status === 'streaming' ? { ...asLost(current), ...(settled ? { usage: settled } : {}) } : current);
  }
  await store.finishTurn(userId, conversation.id, {
    turnId, usage: usage ?? ZERO_USAGE, updatedAt: now.toISOString(),
    // A lost regeneration added its reply alone: its parent is not this turn's user message.
    messagesAdded: !stored ? 1 : stored.parentId === undefined || stored.parentId === turnMessageIds(turnId).user ? 2 : 1,
  });
  await releaseTurnReservation(deps, userId, turnId);
}

/** The model's own usage; where it sent none but did produce text, the service's exact count, marked estimated. */
function usageOf(reply: Reply, promptTokens: number, tokenizer: ChatTokenizer): Usage | null {
  if (reply.reported) return { ...reply.reported };
  // Nothing produced, nothing to estimate (a refused prompt, a failed call); a reply cut by the filter mid-stream
  // did produce text, and the model billed it; a call stopped after the model accepted it was billed for its prompt.
  if (!reply.content && !(reply.cancelled && reply.accepted)) return null;
  return estimatedUsage(promptTokens, tokenizer, reply.content);
}

function estimatedUsage(promptTokens: number, tokenizer: ChatTokenizer, content: string): Usage {
  const completionTokens = content ? tokenizer.countText(content) : 0;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
