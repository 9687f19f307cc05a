import type { TokenCredential } from '@azure/core-auth';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ChatModel, CompletionEvent, CompletionRequest, ModelInfo } from '../chat/ports.js';
import { chatCompletionBody } from './chatCompletionBody.js';
import { ModelCalls, type ModelCallOptions, type UpstreamLogger, type WireAnswer } from './ModelCalls.js';
import { streamFailure } from './upstreamFailure.js';

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

/** Bearer tokens for `scope`, through @azure/identity's provider (loaded on first need: keyed runs never load it). */
function bearerTokens(credential: TokenCredential, scope: string): () => Promise<string> {
  let provider: Promise<() => Promise<string>> | undefined;
  return async () => {
    provider ??= import('@azure/identity').then(({ getBearerTokenProvider }) => getBearerTokenProvider(credential, scope));
    return (await provider)();
  };
}

/** The SDK's own log lines, as upstream warnings (its debug and info chatter dropped). */
function sdkLogger(logger: UpstreamLogger): OpenAI['logger'] {
  const warn = (message: string): void => logger.warn(`openai: ${message}`);
  return { error: warn, warn, info: () => {}, debug: () => {} };
}

/** The SDK's chunks, with an error the model reports inside the stream mapped like every other failure. */
async function* sdkChunks(stream: AsyncIterable<unknown>): AsyncGenerator<unknown, void, undefined> {
  try {
    yield* stream;
  } catch (error) {
    // An `error` chunk: the SDK throws it as an APIError without a status.
    if (error instanceof APIError && error.status === undefined && !(error instanceof OpenAI.APIConnectionError)) {
      throw streamFailure({ error: error.error });
    }
    throw error;
  }
}

/**
 * The `ChatModel` over the OpenAI v1 chat-completions API (the `openai` package): Foundry's `…/openai/v1` and any
 * OpenAI-compatible server (Foundry Local, Ollama, vLLM). Only the wire lives here; retries, timeouts, the
 * concurrency limit and failure mapping are `ModelCalls'`. The SDK's own retries are off (`maxRetries: 0`):
 * `PHI_RETRY_BUDGET_MS` is the one retry budget, spent before the first delta, and two policies would multiply.
 * The API has no `/info`, so `info()` is null and the service names the model from its catalog.
 */
export class OpenAIChatModel implements ChatModel {
  readonly #client: OpenAI;
  readonly #deployment: string;
  readonly #calls: ModelCalls;

  constructor(options: OpenAIChatModelOptions) {
    this.#deployment = options.deployment;
    this.#calls = new ModelCalls(options, (request, signal) => this.#send(request, signal));
    const { apiKey, credential } = options;
    if (apiKey === undefined && !credential) throw new Error('OpenAIChatModel needs an API key or a token credential.');
    this.#client = new OpenAI({
      baseURL: options.endpoint,
      apiKey: apiKey ?? bearerTokens(credential!, options.tokenScope ?? OPENAI_V1_TOKEN_SCOPE),
      // Not from the process environment: the service's settings are the PHI_* ones.
      organization: null,
      project: null,
      maxRetries: 0,
      logger: sdkLogger(this.#calls.logger),
    });
  }

  /** Upstream calls in flight (streams count until they end) and callers waiting for a slot. */
  get load(): { readonly inFlight: number; readonly queued: number } {
    return this.#calls.load;
  }

  stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>> {
    return this.#calls.stream(request);
  }

  info(): Promise<ModelInfo | null> {
    return Promise.resolve(null);
  }

  async #send(request: CompletionRequest, signal: AbortSignal): Promise<WireAnswer> {
    const body = { ...chatCompletionBody(request, this.#deployment), stream_options: { include_usage: true } };
    try {
      const stream = await this.#client.chat.completions.create(body as unknown as ChatCompletionCreateParamsStreaming, { signal, maxRetries: 0 });
      // The SDK reads the body to its end and aborts the request when iteration stops early; tearing down is
      // aborting `signal`, which `ModelCalls` does.
      return { ok: true, chunks: sdkChunks(stream), end: () => {} };
    } catch (error) {
      if (error instanceof APIError && error.status !== undefined && error.headers !== undefined) {
        const { headers } = error;
        // The SDK keeps the body's `error` object (or the whole body when it has none, e.g. a top-level `code`).
        return { ok: false, status: error.status, header: (name) => headers.get(name) ?? undefined, body: { error: error.error ?? error.message } };
      }
      throw error;
    }
  }
}
