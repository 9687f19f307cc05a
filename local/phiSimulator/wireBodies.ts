import type { RetryAfterHeader } from './FaultQueue.js';

/** The error bodies the simulator sends, shaped as the seed and the service family document them. */

/** The seed's content-filter refusal, word for word. */
export function contentFilterBody(codeAtTopLevel: boolean): unknown {
  const message =
    "The response was filtered due to the prompt triggering Microsoft's content management policy. Please modify your prompt and retry.";
  if (codeAtTopLevel) return { code: 'content_filter', message, param: 'prompt', status: 400 };
  return { error: { message, type: null, param: 'prompt', code: 'content_filter', status: 400 } };
}

export function contextLengthBody(window: number, promptTokens: number, maxTokens: number): unknown {
  return {
    error: {
      code: 'context_length_exceeded',
      type: 'invalid_request_error',
      param: 'messages',
      status: 400,
      message:
        `This model's maximum context length is ${window} tokens. However, you requested ${promptTokens + maxTokens} tokens ` +
        `(${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    },
  };
}

export function invalidRequestBody(message: string, param: string | null = null): unknown {
  return { error: { code: 'invalid_request_error', type: 'invalid_request_error', param, message, status: 400 } };
}

const REASONS: Readonly<Record<number, string>> = {
  401: 'Unauthorized: access denied due to invalid subscription key or wrong API endpoint.',
  429: 'Rate limit is exceeded. Try again later.',
  500: 'The server had an error while processing your request.',
  503: 'The service is temporarily unavailable. Try again later.',
};

export function statusBody(status: number): unknown {
  return { error: { code: String(status), message: REASONS[status] ?? `Simulated failure with status ${status}.`, status } };
}

/** The headers a throttling answer carries, in the forms clients must understand. */
export function retryAfterHeaders(ms: number, which: readonly RetryAfterHeader[], now: Date): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of which) {
    if (name === 'retry-after-ms' || name === 'x-ms-retry-after-ms') headers[name] = String(ms);
    else if (name === 'retry-after') headers['retry-after'] = String(Math.ceil(ms / 1000));
    else headers['retry-after'] = new Date(now.getTime() + ms).toUTCString();
  }
  return headers;
}
