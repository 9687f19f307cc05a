import type { PromptMessage } from '../../src/chat/ports.js';

/** The parts of a chat-completions body the simulator acts on; everything else is accepted and ignored. */
export interface CompletionRequestBody {
  readonly messages: readonly PromptMessage[];
  readonly stream: boolean;
  readonly maxTokens: number | undefined;
  readonly stop: readonly string[];
  readonly seed: number | undefined;
  readonly model: string | undefined;
  /** `stream_options.include_usage`: on the OpenAI v1 wire, usage is sent (as a last chunk) only when asked. */
  readonly includeUsage: boolean;
}

/** A body the service would refuse with 400: the message and the offending parameter. */
export class InvalidBody extends Error {
  constructor(message: string, readonly param: string | null) {
    super(message);
  }
}

const ROLES = new Set(['system', 'user', 'assistant']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a raw request body the way the endpoint does, throwing `InvalidBody` on the first problem. */
export function parseCompletionRequest(raw: string): CompletionRequestBody {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new InvalidBody('The request body is not valid JSON.', null);
  }
  if (!isRecord(body)) throw new InvalidBody('The request body must be a JSON object.', null);
  const { messages, stream, max_tokens: maxTokens, stop, seed, model, stream_options: streamOptions } = body;
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidBody("'messages' must be a non-empty array.", 'messages');
  const parsed = messages.map((m: unknown, i): PromptMessage => {
    if (!isRecord(m) || typeof m.role !== 'string' || !ROLES.has(m.role) || typeof m.content !== 'string') {
      throw new InvalidBody(`'messages[${i}]' must have a role (system, user, assistant) and string content.`, `messages[${i}]`);
    }
    return { role: m.role as PromptMessage['role'], content: m.content };
  });
  if (stream !== undefined && typeof stream !== 'boolean') throw new InvalidBody("'stream' must be a boolean.", 'stream');
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
    throw new InvalidBody("'max_tokens' must be a whole number ≥ 1.", 'max_tokens');
  }
  const stops = stop === undefined || stop === null ? [] : typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(stops) || !stops.every((s) => typeof s === 'string')) throw new InvalidBody("'stop' must be a string or an array of strings.", 'stop');
  if (seed !== undefined && !Number.isInteger(seed)) throw new InvalidBody("'seed' must be an integer.", 'seed');
  if (model !== undefined && typeof model !== 'string') throw new InvalidBody("'model' must be a string.", 'model');
  if (streamOptions !== undefined && streamOptions !== null && !isRecord(streamOptions)) {
    throw new InvalidBody("'stream_options' must be an object.", 'stream_options');
  }
  return {
    messages: parsed,
    stream: stream === true,
    maxTokens: maxTokens as number | undefined,
    stop: stops as string[],
    seed: seed as number | undefined,
    model: model as string | undefined,
    includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
  };
}
