import { UpstreamError } from '../chat/errors.js';

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** An error body as the wire gave it: parsed JSON where it was JSON, else its text. */
export function parseErrorBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The error body's `code` and `message`, wherever the service put them (`error.code` or top level). */
export function errorBodyFields(body: unknown): { code: string | undefined; message: string | undefined } {
  if (typeof body === 'string') return { code: undefined, message: body.trim().slice(0, 500) || undefined };
  const top = record(body);
  const inner = record(top?.error);
  const pick = (key: string): string | undefined => {
    const value = inner?.[key] ?? top?.[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  };
  // 429 bodies may carry `error` as a plain string next to `message`.
  return { code: pick('code') ?? (typeof top?.error === 'string' ? top.error : undefined), message: pick('message') };
}

/**
 * Classifies a non-2xx answer that will not be retried: a content-filter refusal (code `content_filter`, in
 * `error.code` or at the top level) is `content_filtered`; anything else is `upstream_error`. Throttling and
 * unavailability are decided by the caller, which knows whether retries ran out.
 */
export function upstreamFailure(status: number, body: unknown): UpstreamError {
  const { code } = errorBodyFields(body);
  if (status >= 400 && status < 500 && code === 'content_filter') {
    return new UpstreamError('content_filtered', "The model's content filter refused the prompt.", undefined, status);
  }
  return new UpstreamError('upstream_error', `The model endpoint answered ${status}.`, undefined, status);
}

/** An error the model reported inside a started stream (a chunk with `error`): a filter's stop or a failure. */
export function streamFailure(body: unknown): UpstreamError {
  const { code } = errorBodyFields(body);
  return new UpstreamError(code === 'content_filter' ? 'content_filtered' : 'upstream_error', 'The model stream reported an error.');
}
