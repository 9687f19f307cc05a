import { isSendable, type MessageStatus } from './conversation.js';

export { isSendable };
import { ChatError } from './errors.js';
import type { ModelSpec } from './modelCatalog.js';
import type { PromptMessage } from './ports.js';
import type { ChatTokenizer } from './tokenizer/ChatTokenizer.js';
import { messageOverheadTokens, tokenizerFor } from './tokenizer/index.js';

/**
 * Tokens kept free below the window. The count itself is exact for the template we render; the margin absorbs a
 * deployment whose own template adds a token or two (Phi-3-mini's first published template began with `<s>`).
 */
export const CONTEXT_SAFETY_MARGIN_TOKENS = 8;

/** A stored message as context assembly needs it. */
export interface HistoryMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
  readonly status: MessageStatus;
  /**
   * The content's stored count: `contentTokens(tokenizer, content)` (for Phi-3 the same as `countText(content)`),
   * i.e. what the message costs in a prompt minus `messageOverheadTokens(tokenizer)`. Never recounted here.
   */
  readonly tokenCount: number;
}

/** What one turn's prompt is built from. */
export interface ContextRequest {
  readonly model: Pick<ModelSpec, 'contextWindow' | 'tokenizer' | 'supportsSystemMessages'>;
  /** `null` or blank: none. */
  readonly systemPrompt: string | null;
  /**
   * The conversation's stored messages, oldest first, without the new message: all of them, or the newest ones
   * as long as their cost is already more than the window (older ones could not be sent anyway).
   */
  readonly history: readonly HistoryMessage[];
  /** Sendable messages older than `history` that were not read: they count as dropped. */
  readonly olderSendable?: number;
  /** The new user message, counted like a stored one (it is assembled before it is stored, so 413 stores nothing). */
  readonly newMessage: Pick<HistoryMessage, 'content' | 'tokenCount'>;
  readonly maxTokens: number;
}

/** The contract's `Context`: what was sent to the model for a turn. */
export interface Context {
  readonly window: number;
  /** The exact prompt count: `tokenizer.countPrompt(messages)`. */
  readonly promptTokens: number;
  readonly maxTokens: number;
  /** Stored messages sent, the new message included, the system prompt not. */
  readonly messagesIncluded: number;
  /** Sendable stored messages left out for the window; unsendable ones count in neither number. */
  readonly messagesDropped: number;
}

export interface AssembledContext {
  /** Oldest first, ready for the model: the system prompt folded in (or first, where the model accepts it). */
  readonly messages: PromptMessage[];
  readonly context: Context;
}

/** What the sendable ones of these messages cost in a prompt (each: the message overhead + its stored count). */
export function sendableCost(messages: readonly HistoryMessage[], tokenizer: ChatTokenizer): number {
  const overhead = messageOverheadTokens(tokenizer);
  return messages.reduce((sum, m) => sum + (isSendable(m) ? overhead + m.tokenCount : 0), 0);
}

/** A turn's prompt without its history. */
export type PromptFrame = Omit<ContextRequest, 'history' | 'olderSendable'>;

interface Frame {
  readonly budget: number;
  readonly overhead: number;
  readonly system: string | null;
  readonly fold: boolean;
  /** The prompt with the system prompt and the new message only (the fold counted on the new message). */
  readonly alone: number;
  readonly newDelta: number;
  readonly foldDelta: (m: Pick<HistoryMessage, 'content' | 'tokenCount'>) => number;
}

function frameOf(request: PromptFrame, tokenizer: ChatTokenizer): Frame {
  const { model, newMessage, maxTokens } = request;
  const budget = model.contextWindow - CONTEXT_SAFETY_MARGIN_TOKENS - maxTokens;
  const overhead = messageOverheadTokens(tokenizer);
  const system = request.systemPrompt !== null && request.systemPrompt.trim() !== '' ? request.systemPrompt : null;
  const fold = system !== null && !model.supportsSystemMessages;
  const fixed = tokenizer.generationPromptTokens + (system !== null && !fold ? tokenizer.messageTokens({ role: 'system', content: system }) : 0);
  /** Extra tokens the fold adds to a user message of this content, counted exactly. */
  const foldDelta = (m: Pick<HistoryMessage, 'content' | 'tokenCount'>): number =>
    fold ? tokenizer.messageTokens({ role: 'user', content: foldSystemPrompt(system as string, m.content) }) - overhead - m.tokenCount : 0;
  const newDelta = foldDelta(newMessage);
  return { budget, overhead, system, fold, alone: fixed + overhead + newMessage.tokenCount + newDelta, newDelta, foldDelta };
}

/** A turn's prompt measured before its history is read: the room the history has, and the assembly over it. */
export interface PromptPlan {
  /**
   * Tokens the history may take: stored messages are taken newest first while their sendable cost stays within it.
   * So a newest-first run of history costing more holds every message that can be sent, and older ones need only be
   * counted (`olderSendable`). Negative when the new message alone does not fit.
   */
  readonly room: number;
  /** `assembleContext` over this history, without measuring the system prompt and the new message again. */
  assemble(history: readonly HistoryMessage[], olderSendable?: number): AssembledContext;
}

export function planPrompt(frame: PromptFrame, tokenizer: ChatTokenizer = tokenizerFor(frame.model.tokenizer)): PromptPlan {
  const measured = frameOf(frame, tokenizer);
  return {
    room: measured.budget - measured.alone,
    assemble: (history, olderSendable = 0) => assembleMeasured(frame, measured, history, olderSendable),
  };
}

/** The system prompt folded into a user message, for models that refuse `role: "system"`. */
export function foldSystemPrompt(systemPrompt: string, content: string): string {
  return `${systemPrompt}\n\n${content}`;
}

/**
 * Builds the prompt for a turn so that prompt + `maxTokens` ≤ window − `CONTEXT_SAFETY_MARGIN_TOKENS`.
 *
 * The system prompt and the new message are always sent; older sendable messages are added newest first while
 * they fit, stopping at the first that does not (the history stays contiguous, no message is cut). The prompt
 * then starts with a user turn: assistant replies at the old edge whose question did not fit are dropped too.
 * Models without system messages get `foldSystemPrompt(system, content)` as the first user message; its cost is
 * counted by tokenizing that one message, every other message costs `overhead + tokenCount`.
 *
 * @throws ChatError `context_length_exceeded` with `{ window, promptTokens, maxTokens }` when the system prompt
 * and the new message alone do not fit.
 */
export function assembleContext(request: ContextRequest, tokenizer: ChatTokenizer = tokenizerFor(request.model.tokenizer)): AssembledContext {
  return planPrompt(request, tokenizer).assemble(request.history, request.olderSendable);
}

function assembleMeasured(frame: PromptFrame, measured: Frame, history: readonly HistoryMessage[], olderSendable: number): AssembledContext {
  const { model, newMessage, maxTokens } = frame;
  const window = model.contextWindow;
  const { budget, overhead, system, fold, alone, newDelta, foldDelta } = measured;
  if (alone > budget) {
    throw new ChatError('context_length_exceeded', `The message needs ${alone} prompt tokens; with maxTokens ${maxTokens} that exceeds the ${window}-token window.`, {
      window,
      promptTokens: alone,
      maxTokens,
    });
  }

  // Newest first; the walk assumes the fold costs what it costs on the new message, then checks below.
  const sendable: number[] = [];
  for (let i = history.length - 1; i >= 0; i--) if (isSendable(history[i] as HistoryMessage)) sendable.push(i);
  let sum = alone - newDelta;
  let taken = 0;
  while (taken < sendable.length) {
    const cost = overhead + (history[sendable[taken] as number] as HistoryMessage).tokenCount;
    if (sum + cost + newDelta > budget) break;
    sum += cost;
    taken++;
  }

  // Trim to a user turn at the old edge, then settle the fold on the message that really carries it.
  let delta: number;
  for (;;) {
    while (taken > 0 && (history[sendable[taken - 1] as number] as HistoryMessage).role !== 'user') {
      taken--;
      sum -= overhead + (history[sendable[taken] as number] as HistoryMessage).tokenCount;
    }
    delta = taken === 0 ? newDelta : foldDelta(history[sendable[taken - 1] as number] as HistoryMessage);
    if (sum + delta <= budget) break;
    taken--;
    sum -= overhead + (history[sendable[taken] as number] as HistoryMessage).tokenCount;
  }

  const messages: PromptMessage[] = [];
  if (system !== null && !fold) messages.push({ role: 'system', content: system });
  for (let k = taken - 1; k >= 0; k--) {
    const m = history[sendable[k] as number] as HistoryMessage;
    messages.push({ role: m.role, content: m.content });
  }
  messages.push({ role: 'user', content: newMessage.content });
  if (fold) {
    const first = messages[0] as PromptMessage;
    messages[0] = { role: 'user', content: foldSystemPrompt(system as string, first.content) };
  }

  return {
    messages,
    context: {
      window, promptTokens: sum + delta, maxTokens, messagesIncluded: taken + 1,
      messagesDropped: sendable.length - taken + olderSendable,
    },
  };
}
