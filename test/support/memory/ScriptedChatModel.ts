import type { ChatError } from '../../../src/chat/errors.js';
import type { ChatModel, CompletionEvent, CompletionRequest, FinishReason, ModelInfo, ModelUsage } from '../../../src/chat/ports.js';

/** One model call, as the test wants it to go. */
export interface Script {
  readonly deltas?: readonly string[];
  /** What the `end` event reports; null: a model that sends no usage. */
  readonly usage?: ModelUsage | null;
  readonly finishReason?: FinishReason | null;
  /** The call is refused before anything is streamed (what an `UpstreamError` from the adapter looks like). */
  readonly refuse?: ChatError;
  /** The stream waits here after its deltas, before it ends (an abort of the call's signal ends the wait). */
  readonly until?: Promise<void>;
}

export const SCRIPTED_USAGE: ModelUsage = { promptTokens: 10, completionTokens: 3, totalTokens: 13 };

/** A gate a scripted call waits at until the test opens it. */
export function gate(): { readonly until: Promise<void>; open(): void } {
  let open!: () => void;
  const until = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { until, open };
}

/**
 * A `ChatModel` that plays scripts in order, for tests of the core's rules (the real adapter is tested against the
 * simulator). With no script left, a call is refused, so a turn that should not have reached the model fails.
 */
export class ScriptedChatModel implements ChatModel {
  readonly #scripts: Script[] = [];

  /** Queues the next calls' scripts. */
  next(...scripts: Script[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  async stream(request: CompletionRequest): Promise<AsyncIterable<CompletionEvent>> {
    const script = this.#scripts.shift();
    if (!script) throw new Error('The scripted model has no script left for this call.');
    if (script.refuse) throw script.refuse;
    return play(script, request.signal);
  }

  async info(): Promise<ModelInfo | null> {
    return null;
  }
}

async function* play(script: Script, signal: AbortSignal | undefined): AsyncGenerator<CompletionEvent> {
  for (const content of script.deltas ?? ['Hello', ' there.']) yield { type: 'delta', content };
  if (script.until) await abortable(script.until, signal);
  yield {
    type: 'end', finishReason: script.finishReason === undefined ? 'stop' : script.finishReason,
    usage: script.usage === undefined ? SCRIPTED_USAGE : script.usage, model: null,
  };
}

function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    void wait.then(resolve);
  });
}
