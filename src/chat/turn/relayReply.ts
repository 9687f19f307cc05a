import { asChatError, type ChatError, UpstreamError } from '../errors.js';
import type { EventQueue } from '../EventQueue.js';
import { LEASE_TIMING } from '../leaseTiming.js';
import type { LiveTurn } from '../LiveTurn.js';
import type { ExtraParameters, FinishReason, ModelUsage } from '../ports.js';
import { ReplyCheckpoints } from '../ReplyCheckpoints.js';
import { contentTokens } from '../tokenizer/messageCost.js';
import type { TurnEvent } from '../turnTypes.js';
import type { BegunTurn } from './beginTurn.js';
import type { TurnDeps } from './TurnDeps.js';
import { watchStopRequest } from '../watchStopRequest.js';

/** What the model produced, however its call ended. */
export interface Reply {
  readonly content: string;
  readonly finishReason: FinishReason | null;
  /** The model's own count, when it sent one. */
  readonly reported: ModelUsage | null;
  /** Why the call ended early (the model's failure, the lease's stop); null when it finished or was stopped. */
  readonly failure: ChatError | null;
  /** A stop ended it (POST …/stop here, or one recorded by another instance): `content` is what was relayed before. */
  readonly cancelled: boolean;
  /** The model accepted the call (its answer began): a stopped call was billed for its prompt. */
  readonly accepted: boolean;
}

const DEFAULT_CHECKPOINT_MS = 1_000;
/** A stop recorded by another instance reaches the turn within this plus one point read (the contract allows 2 s). */
const DEFAULT_STOP_POLL_MS = 1_000;

/**
 * Relay: calls the model and pushes each delta into the turn's queue as it arrives, never waiting for the client.
 * It never throws and never writes the final message: whatever ends the call (the model finishing, failing, or the
 * lease's stop `LEASE_TIMING.stopBeforeLeaseMs` before the lock ends, which ends every wait inside the call and is
 * checked again per event for a model that ignores it) comes back as a `Reply`, with the reply so far. Meanwhile
 * the reply so far is saved into the placeholder every `checkpointIntervalMs`, and no checkpoint is still running
 * when it returns, so a lost instance leaves what was produced and settling never races a late save.
 * `onAccepted` runs once the model has accepted the call, before the first delta is read.
 */
export async function relayReply(
  deps: TurnDeps, turn: BegunTurn, extra: ExtraParameters | undefined, queue: EventQueue<TurnEvent>, live: LiveTurn,
  onAccepted: () => void = () => {},
): Promise<Reply> {
  const { plan, placeholder } = turn;
  // Every wait of the model call (a slot, retries, silence before or after the first byte) ends before the lease:
  // once the lock is free another turn may start in this conversation, and two replies must never stream at once.
  const deadline = Date.parse(placeholder.leaseUntil ?? '') - LEASE_TIMING.stopBeforeLeaseMs;
  const leaseTimer = setTimeout(
    () => live.abort(new UpstreamError('upstream_timeout', 'The turn ran longer than its lease (TURN_LOCK_SECONDS) and was stopped; the reply so far is kept.')),
    Math.max(0, deadline - deps.clock.now().getTime()),
  );
  const { stopRequests } = deps;
  const unwatch = stopRequests
    ? watchStopRequest(stopRequests, turn.userId, placeholder.turnId, deps.stopPollMs ?? DEFAULT_STOP_POLL_MS, () => live.stop())
    : () => {};
  let content = '';
  let accepted = false;
  let finishReason: FinishReason | null = null;
  let reported: ModelUsage | null = null;
  let failure: ChatError | null = null;
  const checkpoints = new ReplyCheckpoints(
    (text) => deps.store.putMessage({ ...placeholder, content: text, tokenCount: contentTokens(plan.tokenizer, text) }),
    deps.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_MS,
    deps.clock,
    (error) => deps.log?.('could not save a checkpoint of a streaming reply; safe: the final write stores the whole reply', error),
  );
  try {
    const stream = await deps.model.stream({
      messages: plan.prompt, settings: plan.settings, ...(extra ? { extra } : {}), signal: live.signal,
    });
    accepted = true;
    // The reply holds its model slot and the model is answering: what waits on that (the title call) may start.
    onAccepted();
    for await (const event of stream) {
      // A model that ignored the signal is still not relayed past the lease or a stop.
      if (live.signal.aborted) throw live.signal.reason;
      if (event.type === 'delta') {
        if (!live.relay(event.content)) continue;
        content += event.content;
        queue.push({ type: 'delta', content: event.content });
        checkpoints.offer(content);
      } else {
        finishReason = event.finishReason;
        reported = event.usage;
      }
    }
  } catch (error) {
    // A stop ends the call however the model's side of it ended: the reply is what was relayed before it.
    if (!live.cancelled) failure = asChatError(error);
  } finally {
    // From here a stop no longer changes the reply: a stop racing the natural end finds it ended and loses.
    live.endRelay();
    unwatch();
    clearTimeout(leaseTimer);
  }
  await checkpoints.settled();
  return { content, finishReason, reported, failure, cancelled: live.cancelled, accepted };
}
