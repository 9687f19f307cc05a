import { cleanTitle } from '../cleanTitle.js';
import type { Conversation, Usage } from '../conversation.js';
import { LEASE_TIMING } from '../leaseTiming.js';
import type { ModelUsage } from '../ports.js';
import { TITLE_MAX_TOKENS, titlePrompt } from '../titlePrompt.js';
import type { Reservation } from '../TurnReservations.js';
import { utcDay } from '../UsageLedger.js';
import type { BegunTurn } from './beginTurn.js';
import { releaseTurnReservation, reserveTurn } from './reserveTurn.js';
import { retryWrite } from './retryWrite.js';
import type { TurnDeps } from './TurnDeps.js';

/** The id a title call's reservation and usage record go by: one per turn, so a title is never counted twice. */
export function titleCallId(turnId: string): string {
  return `title_${turnId}`;
}

/** Whether this turn names its conversation: `AUTO_TITLE` on, the conversation's first turn, and no title yet. */
export function wantsTitle(deps: TurnDeps, turn: BegunTurn): boolean {
  const { conversation } = turn.plan;
  return deps.autoTitle === true && conversation.titleSource === null && conversation.messageCount === 0;
}

/**
 * The title call, beside the turn (started by `ChatTurns` once the reply's own call is accepted, so it never holds
 * up the first delta): a side reservation of its prompt + {@link TITLE_MAX_TOKENS} tokens (quota, not the cap on
 * turns in flight), one short call that takes a free model slot or none, its usage recorded as the caller's under
 * its own id (not the turn's message usage), then the cleaned title stored only while the conversation has none.
 * It ends by the turn's lease on its own, whatever the turn does. It never throws: a refusal, a failure, a filtered
 * or empty answer is logged and changes nothing. Resolves with the conversation as titled, or null.
 */
export async function titleConversation(deps: TurnDeps, turn: BegunTurn): Promise<Conversation | null> {
  try {
    return await nameConversation(deps, turn);
  } catch (error) {
    deps.log?.('the title call failed; the conversation keeps its placeholder title', error);
    return null;
  }
}

async function nameConversation(deps: TurnDeps, turn: BegunTurn): Promise<Conversation | null> {
  const { plan, placeholder, userMessage, userId } = turn;
  const id = titleCallId(placeholder.turnId);
  const request = titlePrompt(userMessage.content, plan.model);
  const promptTokens = plan.tokenizer.countPrompt(request.messages);
  const leaseEnd = Date.parse(placeholder.leaseUntil ?? '');
  const reservation: Reservation = {
    id, tokens: promptTokens + TITLE_MAX_TOKENS, expiresAt: new Date(leaseEnd + LEASE_TIMING.settleBudgetMs).toISOString(), turn: false,
  };
  await reserveTurn(deps, userId, reservation, deps.clock.now());
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('The title call outlasted its turn\'s lease.')),
    Math.max(0, leaseEnd - LEASE_TIMING.stopBeforeLeaseMs - deps.clock.now().getTime()));
  let content = '';
  let reported: ModelUsage | null = null;
  let filtered = false;
  let failure: unknown = null;
  try {
    const stream = await deps.model.stream({ messages: request.messages, settings: request.settings, signal: abort.signal, waitForSlot: false });
    for await (const event of stream) {
      if (event.type === 'delta') content += event.content;
      else {
        reported = event.usage;
        filtered = event.finishReason === 'content_filter';
      }
    }
  } catch (error) {
    failure = error;
  } finally {
    clearTimeout(timer);
  }
  // What was produced was billed, even when the call broke. Recorded before the reservation goes; a record that
  // never lands keeps the reservation, which then counts the tokens until it expires.
  const usage = usageOf(reported, promptTokens, content, (text) => plan.tokenizer.countText(text));
  if (await recordUsage(deps, turn, id, usage)) await releaseTurnReservation(deps, userId, id);
  if (failure) throw failure;
  const title = filtered ? null : cleanTitle(content);
  if (!title) {
    deps.log?.(`the title call gave no usable title (${filtered ? 'filtered' : 'empty'}); the conversation keeps its placeholder title`);
    return null;
  }
  return deps.store.setAutoTitle(userId, plan.conversation.id, title);
}

function usageOf(reported: ModelUsage | null, promptTokens: number, content: string, countText: (text: string) => number): Usage | null {
  if (reported) return { ...reported };
  if (!content) return null;
  const completionTokens = countText(content);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}

async function recordUsage(deps: TurnDeps, turn: BegunTurn, id: string, usage: Usage | null): Promise<boolean> {
  if (!usage) return true;
  const { plan, userId } = turn;
  const entry = { turnId: id, conversationId: plan.conversation.id, model: plan.model.id, day: utcDay(deps.clock.now()), usage, call: 'title' as const };
  return retryWrite(deps, 'usage of a title call', 'its reservation counts its tokens until it expires', () => deps.ledger.record(userId, entry));
}
