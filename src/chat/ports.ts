/**
 * The ports the chat core talks to the outside through. Adapters (Cosmos, the inference SDK, the clock)
 * implement them; the core imports nothing else from the outside.
 */

/** A message as the model sees it, after the system prompt has been folded in where needed. */
export interface PromptMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** Generation settings in the contract's names; the model adapter maps them to the wire. */
export interface GenerationSettings {
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens: number;
  readonly stop?: readonly string[];
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
}

/** Parameters passed through to the model with `extra-parameters: pass-through`. */
export interface ExtraParameters {
  readonly logprobs?: boolean;
  readonly topLogprobs?: number;
  readonly logitBias?: Readonly<Record<string, number>>;
}

export interface ModelUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter';

/** One event of a streamed completion, in order: deltas, then exactly one `end`. */
export type CompletionEvent =
  | { readonly type: 'delta'; readonly content: string }
  | { readonly type: 'end'; readonly finishReason: FinishReason | null; readonly usage: ModelUsage | null; readonly model: string | null };

export interface CompletionRequest {
  readonly messages: readonly PromptMessage[];
  readonly settings: GenerationSettings;
  readonly extra?: ExtraParameters;
  /**
   * Aborting it ends the call: a wait for a slot, a retry wait or a pending request rejects with `signal.reason`;
   * a started stream is closed upstream and its iterator throws `signal.reason`.
   */
  readonly signal?: AbortSignal;
  /**
   * False for a call that only helps (a title): it takes a free slot of the adapter's concurrency limit or fails at
   * once (`upstream_unavailable`), never queueing ahead of a reply that needs one. Default true.
   */
  readonly waitForSlot?: boolean;
}

/** What the service learns from the deployment's `/info`, where it has one. */
export interface ModelInfo {
  readonly modelName: string;
  readonly modelType: string;
  readonly modelProviderName: string;
}

/**
 * A chat model that streams. `stream` resolves once the upstream has accepted the request (retries on 429/503
 * happen inside, before anything is yielded); it rejects with an `UpstreamError` when the request fails before the
 * first event, and the iterator throws an `UpstreamError` when a started stream breaks.
 */
export interface ChatModel {
  stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>>;
  info(): Promise<ModelInfo | null>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
