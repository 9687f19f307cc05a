import createModelClient, { isUnexpected, type ModelClient } from '@azure-rest/ai-inference';
import { AzureKeyCredential, type TokenCredential } from '@azure/core-auth';
import { createSseStream, type NodeJSReadableStream } from '@azure/core-sse';
import type { ChatModel, CompletionEvent, CompletionRequest, ModelInfo } from '../chat/ports.js';
import { chatCompletionBody } from './chatCompletionBody.js';
import { parseChunk } from './completionEvents.js';
import { ModelCalls, type ModelCallOptions, type WireAnswer } from './ModelCalls.js';
import { parseErrorBody } from './upstreamFailure.js';

export type { UpstreamLogger } from './ModelCalls.js';

export interface InferenceChatModelOptions extends ModelCallOptions {
  /** The endpoint URL (`PHI_ENDPOINT`), without a route. */
  readonly endpoint: string;
  /** `PHI_API_KEY`: when set, sent as a key credential; otherwise `credential` is used. */
  readonly apiKey?: string;
  /** Microsoft Entra ID credential (the composition root passes `DefaultAzureCredential`), used without a key. */
  readonly credential?: TokenCredential;
  /** `PHI_TOKEN_SCOPE`: the Entra ID scope for `credential` (unset: the SDK's `https://ml.azure.com/.default`). */
  readonly tokenScope?: string;
  /** `PHI_DEPLOYMENT`: sent as the body's `model` when set. */
  readonly deployment?: string;
}

type Headers = Readonly<Record<string, string>>;

const INFO_RETRY_AFTER_FAILURE_MS = 60_000;
const ERROR_BODY_LIMIT = 64 * 1024;

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

/** The SSE events of a body as parsed chunks (`[DONE]` included, as `STREAM_DONE`). */
async function* sseChunks(body: NodeJSReadableStream): AsyncGenerator<unknown, void, undefined> {
  for await (const event of createSseStream(body)) yield parseChunk(event.data);
}

/**
 * The `ChatModel` over the Azure AI model inference API (`@azure-rest/ai-inference` + `@azure/core-sse`), for
 * managed compute and any endpoint still speaking it. Only the wire lives here; retries, timeouts, the
 * concurrency limit and failure mapping are `ModelCalls`'. The SDK's own retry policy is switched off so that
 * `PHI_RETRY_BUDGET_MS` is the only retry budget (two policies would multiply).
 */
export class InferenceChatModel implements ChatModel {
  readonly #client: ModelClient;
  readonly #options: InferenceChatModelOptions;
  readonly #calls: ModelCalls;
  #info: { value: Promise<ModelInfo | null>; expires: number } | undefined;

  constructor(options: InferenceChatModelOptions) {
    this.#options = options;
    this.#calls = new ModelCalls(options, (request, signal) => this.#send(request, signal));
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
    return this.#calls.load;
  }

  stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>> {
    return this.#calls.stream(request);
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
    const logger = this.#calls.logger;
    try {
      const res = await this.#client.path('/info').get({ abortSignal: AbortSignal.timeout(this.#options.firstByteTimeoutMs) });
      if (isUnexpected(res)) {
        logger.warn(`Model /info answered ${res.status}; continuing without it.`);
        return null;
      }
      const { model_name: modelName, model_type: modelType, model_provider_name: modelProviderName } = res.body;
      if (typeof modelName !== 'string') return null;
      return { modelName, modelType: String(modelType), modelProviderName: String(modelProviderName) };
    } catch (error) {
      logger.warn(`Model /info failed (${error instanceof Error ? error.message : String(error)}); continuing without it.`);
      return null;
    }
  }

  async #send(request: CompletionRequest, signal: AbortSignal): Promise<WireAnswer> {
    const body = chatCompletionBody(request, this.#options.deployment);
    const hasExtra = ['logprobs', 'top_logprobs', 'logit_bias'].some((k) => k in body);
    // The SDK only sends this header from the per-request `headers` option.
    const headers = hasExtra ? { 'extra-parameters': 'pass-through' as const } : undefined;
    const res = await this.#client
      .path('/chat/completions')
      .post({ body: body as never, ...(headers ? { headers } : {}), abortSignal: signal })
      .asNodeStream();
    const status = Number(res.status);
    if (status === 200 && res.body) {
      // The Node HTTP client's body is an IncomingMessage, which can be destroyed.
      const stream = res.body as NodeJSReadableStream;
      return {
        ok: true,
        chunks: sseChunks(stream),
        // After [DONE] only the end of the body is left: read it out so the keep-alive connection goes back to the
        // pool (destroying it would cost a new TCP/TLS handshake on the next call). Anything else leaves the
        // connection in an unknown state.
        end: (clean) => (clean ? stream.resume() : stream.destroy()),
      };
    }
    return { ok: false, status, header: lookup(res.headers), body: parseErrorBody(await readErrorBody(res.body)) };
  }
}
