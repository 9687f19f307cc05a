import type { TokenCredential } from '@azure/core-auth';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { CompletionRequest, ModelInfo } from '../chat/ports.js';
import { BearerTokens } from './BearerTokens.js';
import { chatCompletionBody } from './chatCompletionBody.js';
import { ModelCalls, type ModelCallOptions, type UpstreamLogger, type WireAnswer } from './ModelCalls.js';
import { readErrorBody } from './readErrorBody.js';
import { sseAnswer } from './sseAnswer.js';

/** Foundry's scope for the OpenAI v1 API (Microsoft's migration guide moves off the `cognitiveservices` one). */
export const OPENAI_V1_TOKEN_SCOPE = 'https://ai.azure.com/.default';

export interface OpenAIChatModelOptions extends ModelCallOptions {
  /** The API's base URL (`PHI_ENDPOINT`, e.g. `https://<resource>.openai.azure.com/openai/v1`). */
  readonly endpoint: string;
  /** `PHI_DEPLOYMENT`: the body's `model`, which the v1 API requires. */
  readonly deployment: string;
  /** `PHI_API_KEY`: when set, sent as the bearer key; otherwise tokens from `credential`. */
  readonly apiKey?: string;
  /** Microsoft Entra ID credential (the composition root passes `DefaultAzureCredential`), used without a key. */
  readonly credential?: TokenCredential;
  /** `PHI_TOKEN_SCOPE` for `credential` (default `https://ai.azure.com/.default`). */
  readonly tokenScope?: string;
}

/** The SDK's own log lines, as upstream warnings (its debug and info chatter dropped). */
function sdkLogger(logger: UpstreamLogger): OpenAI['logger'] {
  const warn = (message: string): void => logger.warn(`openai: ${message}`);
  return { error: warn, warn, info: () => {}, debug: () => {} };
}

/**
 * The headers `OPENAI_CUSTOM_HEADERS` would add to every request (the SDK reads it from the environment, parsed as
 * it parses it), each removed: the service's settings are the PHI_* ones.
 */
function withoutEnvironmentHeaders(): Record<string, null> {
  const names = (process.env.OPENAI_CUSTOM_HEADERS ?? '').split('\n').map((line) => (line.includes(':') ? line.slice(0, line.indexOf(':')).trim() : ''));
  return Object.fromEntries(names.filter(Boolean).map((name) => [name, null]));
}

/**
 * Node's fetch, with a non-2xx body cut to 64 KB before the SDK reads it whole (it would wait for all of it); a
 * 200 is passed on untouched.
 */
async function fetchCappingErrors(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const text = await readErrorBody(response.body);
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * The `ChatModel` over the OpenAI v1 chat-completions API (the `openai` package): Foundry's `…/openai/v1` and any
 * OpenAI-compatible server (Foundry Local, Ollama, vLLM). Only the wire lives here; retries, timeouts, the
 * concurrency limit and failure mapping are `ModelCalls'`. The SDK builds and sends the request; its answer is
 * read raw (`asResponse()`) through the same SSE and chunk parsers as the inference wire, so both end a stream,
 * reuse a connection and report an in-stream error the same way. Its own retries are off (`maxRetries: 0`):
 * `PHI_RETRY_BUDGET_MS` is the one retry budget, spent before the first delta, and two policies would multiply.
 * The credential is sent per request (`Authorization`), fetched within the call's deadline; nothing of the SDK's
 * environment (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_CUSTOM_HEADERS`, …) reaches a request. The API has
 * no `/info`, so `info()` is null and the service names the model from its catalog.
 */
export class OpenAIChatModel extends ModelCalls {
  readonly #client: OpenAI;
  readonly #deployment: string;
  readonly #bearer: (signal: AbortSignal) => Promise<string>;

  constructor(options: OpenAIChatModelOptions) {
    super(options);
    this.#deployment = options.deployment;
    const { apiKey, credential } = options;
    if (apiKey !== undefined) {
      this.#bearer = () => Promise.resolve(apiKey);
    } else if (credential) {
      const tokens = new BearerTokens(credential, options.tokenScope ?? OPENAI_V1_TOKEN_SCOPE);
      this.#bearer = (signal) => tokens.get(signal);
    } else {
      throw new Error('OpenAIChatModel needs an API key or a token credential.');
    }
    this.#client = new OpenAI({
      baseURL: options.endpoint,
      // Never sent: every request carries its own Authorization. Set so the SDK does not read OPENAI_API_KEY.
      apiKey: 'per-request',
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      defaultHeaders: withoutEnvironmentHeaders(),
      maxRetries: 0,
      fetch: fetchCappingErrors,
      logger: sdkLogger(this.logger),
      logLevel: 'warn',
    });
  }

  info(): Promise<ModelInfo | null> {
    return Promise.resolve(null);
  }

  protected async send(request: CompletionRequest, signal: AbortSignal): Promise<WireAnswer> {
    const body = { ...chatCompletionBody(request, this.#deployment), stream_options: { include_usage: true } };
    const authorization = `Bearer ${await this.#bearer(signal)}`;
    // Its own controller, so that `end(false)` can tear the body down whoever holds `signal`.
    const connection = new AbortController();
    const forward = (): void => connection.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    try {
      const response = await this.#client.chat.completions
        .create(body as unknown as ChatCompletionCreateParamsStreaming, {
          signal: connection.signal,
          maxRetries: 0,
          headers: { Authorization: authorization, 'api-key': null },
        })
        .asResponse();
      if (!response.body) throw new Error('The model answered 200 without a body.');
      return sseAnswer(response.body, () => connection.abort());
    } catch (error) {
      signal.removeEventListener('abort', forward);
      if (error instanceof APIError && error.status !== undefined && error.headers !== undefined) {
        const { headers } = error;
        // The SDK keeps the body's `error` object (or the whole body when it has none, e.g. a top-level `code`).
        return { ok: false, status: error.status, header: (name) => headers.get(name) ?? undefined, body: { error: error.error ?? error.message } };
      }
      throw error;
    }
  }
}
