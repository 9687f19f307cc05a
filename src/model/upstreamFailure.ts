import { UpstreamError } from '../chat/errors.js';

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The error body's `code` and `message`, wherever the service put them (`error.code` or top level). */
export function errorBodyFields(text: string): { code: string | undefined; message: string | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { code: undefined, message: text.trim().slice(0, 500) || undefined };
  }
  const top = record(parsed);
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
export function upstreamFailure(status: number, bodyText: string): UpstreamError {
  const { code } = errorBodyFields(bodyText);
  if (status >= 400 && status < 500 && code === 'content_filter') {
    return new UpstreamError('content_filtered', "The model's content filter refused the prompt.", undefined, status);
  }
  return new UpstreamError('upstream_error', `The model endpoint answered ${status}.`, undefined, status);
}
