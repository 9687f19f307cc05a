import createModelClient, { isUnexpected, type ModelClient } from '@azure-rest/ai-inference';
import { AzureKeyCredential, type TokenCredential } from '@azure/core-auth';
import type { NodeJSReadableStream } from '@azure/core-sse';
import type { CompletionRequest, ModelInfo } from '../chat/ports.js';
import { isLoopback } from '../isLoopback.js';
import { chatCompletionBody } from './chatCompletionBody.js';
import { ModelCalls, type ModelCallOptions, type WireAnswer } from './ModelCalls.js';
import { readErrorBody } from './readErrorBody.js';
import { sseAnswer } from './sseAnswer.js';
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

function lookup(headers: Headers): (name: string) => string | undefined {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
}

/**
 * The `ChatModel` over the Azure AI model inference API (`@azure-rest/ai-inference` + `@azure/core-sse`), for
 * managed compute and any endpoint still speaking it. Only the wire lives here; retries, timeouts, the
 * concurrency limit and failure mapping are `ModelCalls`'. The SDK's own retry policy is switched off so that
 * `PHI_RETRY_BUDGET_MS` is the only retry budget (two policies would multiply).
 */
export class InferenceChatModel extends ModelCalls {
  readonly #client: ModelClient;
  readonly #options: InferenceChatModelOptions;
  #info: { value: Promise<ModelInfo | null>; expires: number } | undefined;

  constructor(options: InferenceChatModelOptions) {
    super(options);
    this.#options = options;
    const credential = options.apiKey !== undefined ? new AzureKeyCredential(options.apiKey) : options.credential;
    if (!credential) throw new Error('InferenceChatModel needs an API key or a token credential.');
    this.#client = createModelClient(options.endpoint, credential, {
      allowInsecureConnection: isLoopback(new URL(options.endpoint).hostname),
      retryOptions: { maxRetries: 0 },
      ...(options.tokenScope ? { credentials: { scopes: [options.tokenScope] } } : {}),
    });
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
    const { logger } = this;
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

  protected async send(request: CompletionRequest, signal: AbortSignal): Promise<WireAnswer> {
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
      const stream = res.body as NodeJSReadableStream & { destroy(): void };
      return sseAnswer(stream, () => stream.destroy());
    }
    return { ok: false, status, header: lookup(res.headers), body: parseErrorBody(await readErrorBody(res.body as AsyncIterable<Uint8Array> | undefined)) };
  }
}
