import type { Conversation, ConversationSettings, Message, Page, Usage } from './conversation.js';
import type { ConversationStore, IdempotencyRecord, TurnStart, TurnStartResult } from './ConversationStore.js';
import type { Conversations } from './Conversations.js';
import { checkSettingsForModel } from './Conversations.js';
import { ChatError, ConflictError, NotFoundError, StoreUnavailableError, UpstreamError } from './errors.js';
import { EventQueue } from './EventQueue.js';
import { ReplyCheckpoints } from './ReplyCheckpoints.js';
import { newId, turnMessageIds } from './ids.js';
import type { ModelSpec } from './modelCatalog.js';
import type { ChatModel, Clock, FinishReason, GenerationSettings, ModelUsage, PromptMessage } from './ports.js';
import type { ChatTokenizer } from './tokenizer/ChatTokenizer.js';
import type { StartedTurn, TurnContext, TurnEvent, TurnOutcomeEvent, TurnRequest } from './turnTypes.js';
import { secondsToUtcMidnight, utcDay, type UsageLedger } from './UsageLedger.js';
import type { Reservation, TurnReservations } from './TurnReservations.js';
import { planPrompt, type PromptFrame } from './contextWindow.js';
import { readHistory } from './historyRead.js';
import { laneAfter } from './BranchPath.js';
import { pathHistory, resolveBranchPoint, type BranchPoint } from './branchPoint.js';
import { contentTokens } from './tokenizer/messageCost.js';
import { LEASE_TIMING } from './leaseTiming.js';

export interface ChatTurnsOptions {
  readonly store: ConversationStore;
  readonly conversations: Conversations;
  readonly model: ChatModel;
  readonly ledger: UsageLedger;
  /** Where a turn holds its tokens and its place among the caller's turns in flight until it settles. */
  readonly reservations: TurnReservations;
  readonly clock: Clock;
  readonly tokenizerFor: (model: ModelSpec) => ChatTokenizer;
  /**
   * How long a turn may hold its conversation (it stops `LEASE_TIMING.stopBeforeLeaseMs` before); a lost instance's
   * lock frees itself after this, its reservation `LEASE_TIMING.settleBudgetMs` later.
   */
  readonly turnLockSeconds: number;
  readonly userDailyTokenLimit?: number | undefined;
  /** `USER_MAX_CONCURRENT_TURNS`: one caller's turns in flight at once, across instances. */
  readonly userMaxConcurrentTurns: number;
  /** How often a streaming reply is saved, so a lost instance keeps what was produced. */
  readonly checkpointIntervalMs?: number;
  /** Attempts to store the final assistant message when the store is failing. */
  readonly storeAttempts?: number;
  readonly log?: (message: string, error?: unknown) => void;
}

interface Prepared {
  readonly conversation: Conversation;
  readonly model: ModelSpec;
  readonly tokenizer: ChatTokenizer;
  readonly prompt: readonly PromptMessage[];
  readonly context: TurnContext;
  readonly settings: GenerationSettings;
  readonly userTokens: number;
  readonly point: BranchPoint;
  /** Messages the turn adds: the user message and the reply, or the reply alone for a regeneration. */
  readonly messagesAdded: number;
}

/**
 * The chat turn: the user message is stored before the model is called, the reply is relayed as it arrives and
 * stored whatever happens to the client, usage is recorded once per turn.
 */
export class ChatTurns {
  readonly #o: ChatTurnsOptions;

  constructor(options: ChatTurnsOptions) {
    this.#o = options;
  }

  /**
   * Everything that can be refused is refused here, before the user message is stored (the caller answers with
   * an HTTP status); once this resolves, every failure arrives as the turn's `failed` event.
   */
  async start(userId: string, conversationId: string, request: TurnRequest): Promise<StartedTurn> {
    const { store, clock } = this.#o;
    const now = clock.now();
    const [conversation, newestPage, record] = await Promise.all([
      store.getConversation(userId, conversationId),
      store.recentMessages(userId, conversationId, { limit: HISTORY_PAGE_SIZE }),
      request.idempotencyKey ? store.getIdempotencyRecord(userId, conversationId, request.idempotencyKey) : null,
    ]);
    if (!conversation) throw new NotFoundError('No such conversation.');
    if (record) return this.#replay(userId, record, request);
    // A parentId the body may not carry is refused as such (400) even while another turn runs.
    const point = await resolveBranchPoint(store, userId, conversation, newestPage, request.target ?? { kind: 'send' }, now);
    if (isLive(conversation, now)) throw new ConflictError();
    if (conversation.activeTurn) await this.#recoverLost(userId, conversation, conversation.activeTurn.turnId, now);

    const prepared = await this.#prepare(userId, conversation, newestPage, request, point);
    const turnId = newId('t');
    const ids = turnMessageIds(turnId);
    const regenerated = point.user;
    const lane = laneAfter(point.parent, point.joinsLeaf, regenerated ? ids.assistant : ids.user);
    const leaseMs = now.getTime() + this.#o.turnLockSeconds * 1000;
    const leaseUntil = new Date(leaseMs).toISOString();
    // The most this turn can spend, held until it settles; if this instance is lost it expires after the lease and
    // the time settling may take, so it never stops counting while this turn could still be storing its usage.
    const reservation: Reservation = {
      id: turnId, tokens: prepared.context.promptTokens + prepared.settings.maxTokens,
      expiresAt: new Date(leaseMs + LEASE_TIMING.settleBudgetMs).toISOString(), turn: true,
    };
    try {
      await this.#reserve(userId, reservation, now);
    } catch (error) {
      // The write may have landed with its answer lost: a reservation left behind would hold a slot of the caller's
      // cap (and its tokens) for the whole lease. Releasing is idempotent, so it is safe either way.
      if (error instanceof StoreUnavailableError) await this.#release(userId, turnId);
      throw error;
    }
    const createdAt = now.toISOString();
    const userMessageId = regenerated?.id ?? ids.user;
    const start: TurnStart = {
      turn: { turnId, expiresAt: leaseUntil },
      messages: [
        ...(regenerated ? [] : [{
          id: ids.user, conversationId, userId, role: 'user' as const, content: request.content, status: 'complete' as const,
          createdAt, tokenCount: prepared.userTokens, turnId, parentId: point.parent?.id ?? null, ...lane,
        }]),
        {
          id: ids.assistant, conversationId, userId, role: 'assistant', content: '', status: 'streaming',
          createdAt: new Date(now.getTime() + 1).toISOString(), tokenCount: 0, turnId,
          finishReason: null, model: prepared.model.id, leaseUntil, context: prepared.context, parentId: userMessageId, ...lane,
        },
      ],
      idempotency: request.idempotencyKey === undefined ? undefined : {
        key: request.idempotencyKey, conversationId, requestHash: request.requestHash, turnId,
        userMessageId, assistantMessageId: ids.assistant, createdAt,
      },
      expectedLastSeq: conversation.lastSeq,
      adopt: point.adopt ?? undefined,
    };
    let begun: TurnStartResult;
    try {
      begun = await store.beginTurn(userId, conversation, start, now);
    } catch (error) {
      await this.#release(userId, turnId);
      // A refusal (404, 413) means nothing landed. A store failure may have lost the answer to a write that did land:
      // undo it, or the client's retry would meet an orphan user message (sent twice) or an idempotency record
      // answering 404. If the clean-up fails too, the store is down.
      if (!(error instanceof StoreUnavailableError)) throw error;
      await store.discardTurn(userId, conversationId, { turnId, messageIds: [ids.user, ids.assistant], idempotencyKey: request.idempotencyKey })
        .catch((cleanup: unknown) => this.#o.log?.('could not discard a turn that failed to start', cleanup));
      await store.finishTurn(userId, conversationId, { turnId, usage: ZERO, messagesAdded: 0, updatedAt: createdAt }).catch(() => {});
      throw error;
    }
    if (!begun.started) {
      await this.#release(userId, turnId);
      // Another request with the same key recorded itself between our read and our write: it is the turn for this key.
      throw begun.reason === 'key_taken' ? new ConflictError('The first request with this Idempotency-Key is still running.') : new ConflictError();
    }
    const [userMessage, placeholder] = (regenerated ? [regenerated, begun.messages[0]] : begun.messages) as [Message, Message];

    const queue = new EventQueue<TurnEvent>();
    queue.push({ type: 'created', userMessage, assistantMessageId: ids.assistant });
    const outcome = this.#run(userId, prepared, placeholder, request, queue).catch((error: unknown): TurnOutcomeEvent => {
      this.#o.log?.('turn crashed', error);
      return { type: 'failed', error: asChatError(error), message: null };
    }).then((event) => {
      queue.push(event);
      queue.close();
      return event;
    });
    return { userMessage, assistantMessageId: ids.assistant, events: queue, outcome };
  }

  /** Takes the turn's reservation, or refuses the turn with a 429 before anything of it is stored. */
  async #reserve(userId: string, reservation: Reservation, now: Date): Promise<void> {
    const limit = this.#o.userDailyTokenLimit;
    const maxConcurrentTurns = this.#o.userMaxConcurrentTurns;
    const outcome = await this.#o.reservations.reserve(userId, reservation, { dailyTokenLimit: limit, maxConcurrentTurns }, utcDay(now), now);
    if (outcome.taken) return;
    if (outcome.reason === 'quota_exceeded') {
      throw new ChatError('quota_exceeded', `The daily limit of ${limit ?? 0} tokens is used up until midnight UTC (counting the turns still running).`, {
        dailyTokenLimit: limit,
        usedToday: outcome.spentToday,
        reservedTokens: outcome.reservedTokens,
      }, secondsToUtcMidnight(now));
    }
    if (outcome.reason === 'contended') {
      // The caller's own turns are starting and settling faster than this one could take its place: a burst of its
      // own making, so it waits like a caller at its cap.
      throw new ChatError('rate_limited', "This caller's other turns kept starting and finishing while this one tried to start; try again shortly.", {
        maxConcurrentTurns,
      }, CONTENDED_RETRY_AFTER_SECONDS);
    }
    throw new ChatError('rate_limited', `At most ${maxConcurrentTurns} turns of one caller run at once; try again when one has finished.`, {
      maxConcurrentTurns,
      turnsInFlight: outcome.turnsInFlight,
    }, Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1_000) / 1_000)));
  }

  /** For a turn that reserved but did not start: a reservation left behind only expires, so a failure is logged. */
  async #release(userId: string, turnId: string): Promise<void> {
    await this.#o.reservations.release(userId, turnId, this.#o.clock.now())
      .catch((error: unknown) => this.#o.log?.('could not release the reservation of a turn that did not start; it expires with its lease', error));
  }

  /**
   * The turn's model, settings and prompt. The history comes from the newest page already read, and from older
   * pages only while what was read could all still be sent (none when the new message alone cannot fit: 413).
   */
  async #prepare(userId: string, conversation: Conversation, newestPage: Page<Message>, request: TurnRequest, point: BranchPoint): Promise<Prepared> {
    const { frame, ...rest } = this.#frame(conversation, point.user ? { ...request, content: point.user.content, tokenCount: point.user.tokenCount } : request);
    const plan = planPrompt(frame, rest.tokenizer);
    // Only the branch the turn continues: the newest page narrowed to its path, then the path's older messages.
    const path = pathHistory(this.#o.store, userId, conversation.id, point.history, newestPage, OLDER_PAGE_SIZE);
    const { history, olderSendable } = plan.room < 0 ? { history: [], olderSendable: 0 } : await readHistory(path.first, path.source, plan.room, rest.tokenizer);
    const assembled = plan.assemble(history, olderSendable);
    return { ...rest, conversation, prompt: assembled.messages, context: assembled.context, point, messagesAdded: point.user ? 1 : 2 };
  }

  /** The turn's model and settings, and its prompt without the history; refuses settings the model does not allow. */
  #frame(
    conversation: Conversation, request: Pick<TurnRequest, 'content' | 'settings'> & { readonly tokenCount?: number },
  ): Omit<Prepared, 'conversation' | 'prompt' | 'context' | 'point' | 'messagesAdded'> & { frame: PromptFrame } {
    const model = this.#o.conversations.modelOf(conversation);
    checkSettingsForModel(request.settings, model);
    const tokenizer = this.#o.tokenizerFor(model);
    const merged: ConversationSettings = { ...conversation.settings, ...request.settings };
    const maxTokens = Math.min(merged.maxTokens ?? model.defaultMaxTokens, model.maxOutputTokens);
    const userTokens = request.tokenCount ?? contentTokens(tokenizer, request.content);
    const settings: GenerationSettings = {
      maxTokens,
      ...(merged.temperature !== undefined ? { temperature: merged.temperature } : {}),
      ...(merged.topP !== undefined ? { topP: merged.topP } : {}),
      ...(merged.stop && merged.stop.length ? { stop: merged.stop } : {}),
      ...(merged.presencePenalty !== undefined ? { presencePenalty: merged.presencePenalty } : {}),
      ...(merged.frequencyPenalty !== undefined ? { frequencyPenalty: merged.frequencyPenalty } : {}),
      ...(merged.seed !== undefined ? { seed: merged.seed } : {}),
    };
    const frame: PromptFrame = {
      model, systemPrompt: conversation.systemPrompt, newMessage: { content: request.content, tokenCount: userTokens }, maxTokens,
    };
    return { model, tokenizer, settings, userTokens, frame };
  }

  /** Calls the model and relays it; always stores the assistant message and frees the lock. */
  async #run(
    userId: string, p: Prepared, placeholder: Message, request: TurnRequest, queue: EventQueue<TurnEvent>,
  ): Promise<TurnOutcomeEvent> {
    // Every wait of the model call (a slot, retries, silence before or after the first byte) ends before the lease:
    // once the lock is free another turn may start in this conversation, and two replies must never stream at once.
    const deadline = Date.parse(placeholder.leaseUntil ?? '') - LEASE_TIMING.stopBeforeLeaseMs;
    const lease = new AbortController();
    const leaseTimer = setTimeout(
      () => lease.abort(new UpstreamError('upstream_timeout', 'The turn ran longer than its lease (TURN_LOCK_SECONDS) and was stopped; the reply so far is kept.')),
      Math.max(0, deadline - this.#o.clock.now().getTime()),
    );
    let content = '';
    let finishReason: FinishReason | null = null;
    let reported: ModelUsage | null = null;
    let failure: ChatError | null = null;
    const checkpoints = new ReplyCheckpoints(
      (text) => this.#o.store.putMessage({ ...placeholder, content: text, tokenCount: contentTokens(p.tokenizer, text) }),
      this.#o.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_MS,
      this.#o.clock,
    );
    try {
      const stream = await this.#o.model.stream({
        messages: p.prompt, settings: p.settings, ...(request.extra ? { extra: request.extra } : {}), signal: lease.signal,
      });
      for await (const event of stream) {
        // A model that ignored the signal is still not relayed past the lease.
        if (lease.signal.aborted) throw lease.signal.reason;
        if (event.type === 'delta') {
          if (!event.content) continue;
          content += event.content;
          queue.push({ type: 'delta', content: event.content });
          checkpoints.offer(content);
        } else {
          finishReason = event.finishReason;
          reported = event.usage;
        }
      }
    } catch (error) {
      failure = asChatError(error);
    } finally {
      clearTimeout(leaseTimer);
    }
    await checkpoints.settled();

    const filtered = failure?.code === 'content_filtered' || finishReason === 'content_filter';
    const status: Message['status'] = filtered ? 'filtered' : failure ? (content ? 'incomplete' : 'failed') : 'complete';
    if (filtered && !failure) failure = new ChatError('content_filtered', "The model's content filter stopped the reply.");
    const usage = this.#usageOf(p, content, reported);
    const finishedAt = this.#o.clock.now();
    const message: Message = {
      ...withoutLease(placeholder),
      content,
      status,
      tokenCount: content ? contentTokens(p.tokenizer, content) : 0,
      finishReason: filtered ? 'content_filter' : finishReason,
      model: p.model.id,
      ...(usage ? { usage } : {}),
      ...(failure ? { error: { code: failure.code, detail: failure.message } } : {}),
    };
    const stored = await this.#settle(userId, p, message, usage, finishedAt);
    if (!stored) {
      // The client has the reply, but `message.completed` promises it is stored: say what happened instead.
      return { type: 'failed', error: new StoreUnavailableError('The reply was sent but could not be stored: the database is unreachable.'), message };
    }
    return failure ? { type: 'failed', error: failure, message } : { type: 'completed', message, context: p.context };
  }

  /** The model's own usage; where it sent none but did produce text, the service's exact count, marked estimated. */
  #usageOf(p: Prepared, content: string, reported: ModelUsage | null): Usage | null {
    if (reported) return { ...reported };
    // Nothing produced, nothing to estimate (a refused prompt, a failed call); a reply cut by the filter mid-stream
    // did produce text, and the model billed it.
    if (!content) return null;
    const completionTokens = p.tokenizer.countText(content);
    return { promptTokens: p.context.promptTokens, completionTokens, totalTokens: p.context.promptTokens + completionTokens, estimated: true };
  }

  /**
   * The assistant message and the turn's usage in one all-or-none write, retried as one (the tokens are spent once
   * the model has answered: a message never carries usage the ledger lacks); then, beside each other, the release of
   * the reservation and the conversation's totals and lock. If that first write never lands, nothing more is
   * written: the placeholder stays `streaming`, and once the lease has passed the next turn in the conversation
   * settles this one from what was saved (`#recoverLost`); until then the reservation counts its tokens.
   */
  async #settle(userId: string, p: Prepared, message: Message, usage: Usage | null, at: Date): Promise<boolean> {
    const conversationId = p.conversation.id;
    const entry = usage && { turnId: message.turnId, conversationId, model: message.model ?? p.model.id, day: utcDay(at), usage };
    const stored = await this.#retry('assistant message and its usage', () => this.#o.store.settleMessage(message, entry));
    if (!stored) return false;
    await Promise.all([
      this.#retry('reservation release', () => this.#o.reservations.release(userId, message.turnId, at)),
      this.#retry('conversation totals', () => this.#o.store.finishTurn(userId, conversationId, {
        turnId: message.turnId, usage: usage ?? ZERO, messagesAdded: p.messagesAdded, updatedAt: at.toISOString(),
      })),
    ]);
    return true;
  }

  /**
   * Settles a turn whose lease passed while its conversation's lock still names it: its instance was lost, or its
   * final write never landed. A reply still `streaming` is stored as what was saved of it, `incomplete`, with usage
   * estimated from it (the prompt was sent, the saved text was produced), in the same write as its ledger record;
   * the ledger keeps a record already there, so a turn is never counted twice. Then its reservation and its
   * conversation totals, as a settle does. A failure here refuses the new turn (503) and leaves the lost one
   * recoverable by the next.
   */
  async #recoverLost(userId: string, conversation: Conversation, turnId: string, now: Date): Promise<void> {
    const { store } = this.#o;
    const stored = await store.getMessage(userId, turnMessageIds(turnId).assistant);
    let usage = stored?.usage ?? null;
    if (stored?.status === 'streaming') {
      const tokenizer = this.#o.tokenizerFor(this.#o.conversations.modelOf(conversation));
      const promptTokens = stored.context?.promptTokens ?? 0;
      const completionTokens = stored.content ? tokenizer.countText(stored.content) : 0;
      usage = promptTokens + completionTokens > 0
        ? { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true }
        : null;
      const message: Message = {
        ...withoutLease(stored), status: 'incomplete', ...(usage ? { usage } : {}),
        error: { code: 'instance_lost', detail: 'The turn stopped before it finished.' },
      };
      const entry = usage && { turnId, conversationId: conversation.id, model: stored.model ?? conversation.model, day: utcDay(new Date(stored.createdAt)), usage };
      await store.settleMessage(message, entry);
    }
    await store.finishTurn(userId, conversation.id, {
      // A lost regeneration added its reply alone: its parent is not this turn's user message.
      turnId, usage: usage ?? ZERO, updatedAt: now.toISOString(),
      messagesAdded: !stored ? 1 : stored.parentId === undefined || stored.parentId === turnMessageIds(turnId).user ? 2 : 1,
    });
    await this.#release(userId, turnId);
  }

  /** Runs a store write, retrying with backoff; false (and logged) when every attempt failed. */
  async #retry(what: string, operation: () => Promise<unknown>): Promise<boolean> {
    const attempts = this.#o.storeAttempts ?? 4;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await operation();
        return true;
      } catch (error) {
        if (attempt >= attempts) {
          this.#o.log?.(`could not store the ${what} after ${attempts} attempts`, error);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  /** A retried POST: the stored turn, as it is now. */
  async #replay(userId: string, record: IdempotencyRecord, request: TurnRequest): Promise<StartedTurn> {
    if (record.requestHash !== request.requestHash) {
      throw new ChatError('idempotency_key_reused', 'This Idempotency-Key was used with a different request body.');
    }
    const [userMessage, assistant] = await Promise.all([
      this.#o.store.getMessage(userId, record.userMessageId),
      this.#o.store.getMessage(userId, record.assistantMessageId),
    ]);
    if (!userMessage) throw new NotFoundError('No such conversation.');
    const now = this.#o.clock.now();
    if (!assistant || (assistant.status === 'streaming' && Date.parse(assistant.leaseUntil ?? '') > now.getTime())) {
      throw new ConflictError('The first request with this Idempotency-Key is still running.');
    }
    const final: TurnOutcomeEvent =
      assistant.status === 'complete'
        ? { type: 'completed', message: assistant, context: assistant.context ?? emptyContext() }
        : { type: 'failed', error: storedError(assistant), message: assistant };
    const queue = new EventQueue<TurnEvent>();
    queue.push({ type: 'created', userMessage, assistantMessageId: assistant.id });
    queue.push(final);
    queue.close();
    return { userMessage, assistantMessageId: assistant.id, events: queue, outcome: Promise.resolve(final) };
  }
}

const ZERO: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
/** The newest messages, read beside the turn's other reads: all of a conversation of up to 50 turns. */
const HISTORY_PAGE_SIZE = 100;
/** Older pages, read one after another only while a prompt could still reach them: few, so large. */
const OLDER_PAGE_SIZE = 1_000;
const DEFAULT_CHECKPOINT_MS = 5_000;
/** Retry-After for a start that met only contention: the turns causing it last seconds at most. */
const CONTENDED_RETRY_AFTER_SECONDS = 1;

function isLive(conversation: Conversation, now: Date): boolean {
  return conversation.activeTurn !== null && Date.parse(conversation.activeTurn.expiresAt) > now.getTime();
}

function withoutLease(message: Message): Message {
  const { leaseUntil: _leaseUntil, ...rest } = message;
  return rest;
}

function asChatError(error: unknown): ChatError {
  return error instanceof ChatError ? error : new ChatError('internal', 'The turn failed unexpectedly.');
}

function storedError(message: Message): ChatError {
  if (message.status === 'streaming') return new UpstreamError('upstream_error', 'The turn stopped before it finished.');
  const code = message.error?.code;
  const known = code && code !== 'instance_lost' ? (code as ChatError['code']) : 'upstream_error';
  return new ChatError(known, message.error?.detail ?? 'The turn failed.');
}

function emptyContext(): TurnContext {
  return { window: 0, promptTokens: 0, maxTokens: 0, messagesIncluded: 0, messagesDropped: 0 };
}
