import createModelClient, { isUnexpected, type ModelClient } from '@azure-rest/ai-inference';
import { AzureKeyCredential, type TokenCredential } from '@azure/core-auth';
import { createSseStream, type NodeJSReadableStream } from '@azure/core-sse';
import { UpstreamError } from '../chat/errors.js';
import type { ChatModel, CompletionEvent, CompletionRequest, ModelInfo } from '../chat/ports.js';
import { completionEvents } from './completionEvents.js';
import { ConcurrencyLimiter } from './ConcurrencyLimiter.js';
import { retryDelayMs } from './retryDelayMs.js';
import { errorBodyFields, upstreamFailure } from './upstreamFailure.js';

/** Where the adapter reports what went wrong upstream; never given a key or a token. */
export interface UpstreamLogger {
  warn(message: string): void;
}

export interface InferenceChatModelOptions {
  /** The endpoint URL (`PHI_ENDPOINT`), without a route. */
  readonly endpoint: string;
  /** `PHI_API_KEY`: when set, sent as a key credential; otherwise `credential` is used. */
  readonly apiKey?: string;
  /** Microsoft Entra ID credential (the composition root passes `DefaultAzureCredential`), used without a key. */
  readonly credential?: TokenCredential;
  /** `PHI_TOKEN_SCOPE`: the Entra ID scope for `credential` (Foundry endpoints want Cognitive Services'). */
  readonly tokenScope?: string;
  /** `PHI_DEPLOYMENT`: sent as the body's `model` when set. */
  readonly deployment?: string;
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Total time spent waiting between 429/503 attempts before giving up. */
  readonly retryBudgetMs: number;
  readonly maxConcurrency: number;
  /** Attempts per request, the first included (default 8); the budget usually ends retries first. */
  readonly maxAttempts?: number;
  readonly logger?: UpstreamLogger;
}

type Headers = Readonly<Record<string, string>>;

const INFO_RETRY_AFTER_FAILURE_MS = 60_000;
const ERROR_BODY_LIMIT = 64 * 1024;

/** Waits `ms`, or rejects with the signal's reason as soon as it is aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const abort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * The events until `signal` is aborted: then `cut` tears the stream down upstream and the iterator throws the
 * signal's reason, whatever the stream below made of the broken connection.
 */
async function* untilAborted<T>(events: AsyncGenerator<T>, signal: AbortSignal | undefined, cut: () => void): AsyncGenerator<T> {
  if (!signal) return yield* events;
  signal.addEventListener('abort', cut, { once: true });
  // Aborted before the first read: the stream below still starts, so that its own clean-up frees the slot.
  if (signal.aborted) cut();
  try {
    for await (const event of events) {
      signal.throwIfAborted();
      yield event;
    }
    signal.throwIfAborted();
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  } finally {
    signal.removeEventListener('abort', cut);
  }
}

function isLoopback(endpoint: string): boolean {
  const { protocol, hostname } = new URL(endpoint);
  return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]');
}

function lookup(headers: Headers): (name: string) => string | undefined {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
}

/** Reads an error body from the node stream, capped, so a huge or endless body cannot hold the caller. */
async function readErrorBody(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.length > ERROR_BODY_LIMIT) break;
  }
  return text;
}

/** What a successful attempt hands the stream reader. */
interface Opened {
  readonly body: NodeJSReadableStream;
  readonly controller: AbortController;
  readonly firstByteDeadline: number;
}

/**
 * The `ChatModel` over the Azure AI model inference API (`@azure-rest/ai-inference` + `@azure/core-sse`).
 * Retries on 429/503 happen here, before anything is yielded, honouring the service's retry-after headers within
 * `retryBudgetMs`; the SDK's own retry policy is switched off so the two never multiply. Once a stream has
 * started it is never retried: a break surfaces as an `UpstreamError` from the iterator.
 */
export class InferenceChatModel implements ChatModel {
  readonly #client: ModelClient;
  readonly #options: InferenceChatModelOptions;
  readonly #limiter: ConcurrencyLimiter;
  readonly #logger: UpstreamLogger;
  #info: { value: Promise<ModelInfo | null>; expires: number } | undefined;

  constructor(options: InferenceChatModelOptions) {
    this.#options = options;
    this.#limiter = new ConcurrencyLimiter(options.maxConcurrency);
    this.#logger = options.logger ?? { warn: (message) => console.warn(message) };
    const credential = options.apiKey !== undefined ? new AzureKeyCredential(options.apiKey) : options.credential;
    if (!credential) throw new Error('InferenceChatModel needs an API key or a token credential.');
    this.#client = createModelClient(options.endpoint, credential, {
      allowInsecureConnection: isLoopback(options.endpoint),
      retryOptions: { maxRetries: 0 },
      ...(options.tokenScope ? { credentials: { scopes: [options.tokenScope] } } : {}),
    });
  }

  /** Upstream calls in flight (streams count until they end) and callers waiting for a slot. */
  get load(): { readonly inFlight: number; readonly queued: number } {
    return { inFlight: this.#limiter.inFlight, queued: this.#limiter.queued };
  }

  async stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>> {
    const { signal } = request;
    const release = await this.#limiter.acquire(this.#options.firstByteTimeoutMs, signal);
    if (!release) {
      throw new UpstreamError('upstream_unavailable', 'Too many model calls are in flight on this instance; try again shortly.', 1);
    }
    let opened: Opened;
    try {
      opened = await this.#open(request);
    } catch (error) {
      release();
      throw error;
    }
    const { body, controller, firstByteDeadline } = opened;
    const cut = (): void => {
      controller.abort();
      body.destroy();
    };
    return untilAborted(completionEvents(createSseStream(body), {
      firstEventDeadline: firstByteDeadline,
      idleTimeoutMs: this.#options.idleTimeoutMs,
      close: (clean) => {
        if (clean) {
          // After [DONE] only the end of the body is left: read it out so the keep-alive connection goes back to
          // the pool (destroying it would cost a new TCP/TLS handshake on the next call).
          body.resume();
        } else {
          // Anything else leaves the connection in an unknown state.
          controller.abort();
          body.destroy();
        }
        release();
      },
      abort: () => {
        controller.abort();
        body.destroy(new Error('The model stream timed out.'));
      },
    }), signal, cut);
  }

  info(): Promise<ModelInfo | null> {
    if (this.#info && this.#info.expires > Date.now()) return this.#info.value;
    const value = this.#fetchInfo();
    this.#info = { value, expires: Number.POSITIVE_INFINITY };
    void value.then((info) => {
      // A failed look-up is retried later instead of hiding the model's name for the life of the process.
      if (info === null && this.#info?.value === value) this.#info = { value, expires: Date.now() + INFO_RETRY_AFTER_FAILURE_MS };
    });
    return value;
  }

  async #fetchInfo(): Promise<ModelInfo | null> {
    try {
      const res = await this.#client.path('/info').get({ abortSignal: AbortSignal.timeout(this.#options.firstByteTimeoutMs) });
      if (isUnexpected(res)) {
        this.#logger.warn(`Model /info answered ${res.status}; continuing without it.`);
        return null;
      }
      const { model_name: modelName, model_type: modelType, model_provider_name: modelProviderName } = res.body;
      if (typeof modelName !== 'string') return null;
      return { modelName, modelType: String(modelType), modelProviderName: String(modelProviderName) };
    } catch (error) {
      this.#logger.warn(`Model /info failed (${error instanceof Error ? error.message : String(error)}); continuing without it.`);
      return null;
    }
  }

  #wireBody(request: CompletionRequest): Record<string, unknown> {
    const { settings, extra } = request;
    const body: Record<string, unknown> = {
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      stream: true,
      max_tokens: settings.maxTokens,
    };
    if (settings.temperature !== undefined) body.temperature = settings.temperature;
    if (settings.topP !== undefined) body.top_p = settings.topP;
    if (settings.stop !== undefined && settings.stop.length > 0) body.stop = [...settings.stop];
    if (settings.presencePenalty !== undefined) body.presence_penalty = settings.presencePenalty;
    if (settings.frequencyPenalty !== undefined) body.frequency_penalty = settings.frequencyPenalty;
    if (settings.seed !== undefined) body.seed = settings.seed;
    if (this.#options.deployment !== undefined) body.model = this.#options.deployment;
    if (extra?.logprobs !== undefined) body.logprobs = extra.logprobs;
    if (extra?.topLogprobs !== undefined) body.top_logprobs = extra.topLogprobs;
    if (extra?.logitBias !== undefined) body.logit_bias = { ...extra.logitBias };
    return body;
  }

  async #open(request: CompletionRequest): Promise<Opened> {
    const body = this.#wireBody(request);
    const hasExtra = ['logprobs', 'top_logprobs', 'logit_bias'].some((k) => k in body);
    // The SDK only sends this header from the per-request `headers` option.
    const headers = hasExtra ? { 'extra-parameters': 'pass-through' as const } : undefined;
    const maxAttempts = this.#options.maxAttempts ?? 8;
    const { signal } = request;
    let waited = 0;
    for (let attempt = 1; ; attempt += 1) {
      signal?.throwIfAborted();
      const controller = new AbortController();
      const abort = (): void => controller.abort();
      signal?.addEventListener('abort', abort, { once: true });
      const firstByteDeadline = Date.now() + this.#options.firstByteTimeoutMs;
      const timer = setTimeout(() => controller.abort(), this.#options.firstByteTimeoutMs);
      let status: number;
      let responseHeaders: Headers;
      let text: string;
      try {
        const res = await this.#client
          .path('/chat/completions')
          .post({ body: body as never, ...(headers ? { headers } : {}), abortSignal: controller.signal })
          .asNodeStream();
        status = Number(res.status);
        if (status === 200 && res.body) {
          clearTimeout(timer);
          // The Node HTTP client's body is an IncomingMessage, which can be destroyed.
          return { body: res.body as NodeJSReadableStream, controller, firstByteDeadline };
        }
        responseHeaders = res.headers;
        text = await readErrorBody(res.body);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (controller.signal.aborted) {
          throw new UpstreamError('upstream_timeout', `The model did not answer within ${this.#options.firstByteTimeoutMs} ms.`);
        }
        this.#logger.warn(`Model request failed before a response: ${error instanceof Error ? error.message : String(error)}`);
        throw new UpstreamError('upstream_unavailable', 'The model endpoint could not be reached.');
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
      }

      const { message } = errorBodyFields(text);
      this.#logger.warn(`Model answered ${status} (attempt ${attempt}): ${message ?? 'no message'}`);
      if (status !== 429 && status !== 503) throw upstreamFailure(status, text);
      const asked = retryDelayMs(lookup(responseHeaders));
      const delay = asked ?? Math.min(500 * 2 ** (attempt - 1), 8_000);
      if (attempt < maxAttempts && waited + delay <= this.#options.retryBudgetMs) {
        await sleep(delay, signal);
        waited += delay;
        continue;
      }
      const retryAfterSeconds = Math.max(1, Math.ceil(delay / 1000));
      throw status === 429
        ? new UpstreamError('rate_limited', 'The model deployment is throttling requests.', retryAfterSeconds, 429)
        : new UpstreamError('upstream_unavailable', 'The model deployment is unavailable.', asked === undefined ? undefined : retryAfterSeconds, 503);
    }
  }
}
