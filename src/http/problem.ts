import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { ChatError, type ErrorCode } from '../chat/errors.js';
import { BearerUnauthorizedError } from './auth/BearerUnauthorizedError.js';

const STATUS: Readonly<Record<ErrorCode, number>> = {
  validation_failed: 400,
  content_filtered: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conversation_busy: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  context_length_exceeded: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  quota_exceeded: 429,
  rate_limited: 429,
  upstream_error: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  store_unavailable: 503,
  auth_unavailable: 503,
  internal: 500,
};

const TITLE: Readonly<Record<ErrorCode, string>> = {
  validation_failed: 'The request is not valid',
  content_filtered: "The model's content filter refused the prompt",
  unauthorized: 'The caller is not identified',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conversation_busy: 'A turn is already running in this conversation',
  precondition_failed: 'Precondition failed',
  payload_too_large: 'Payload too large',
  context_length_exceeded: "The message does not fit the model's context window",
  unsupported_media_type: 'Unsupported media type',
  idempotency_key_reused: 'Idempotency key reused with a different request',
  quota_exceeded: 'Daily token quota exceeded',
  // Three causes (the deployment throttling, the caller's cap, contention among the caller's own turns): the
  // detail says which.
  rate_limited: 'Too many requests',
  upstream_error: 'The model endpoint failed',
  upstream_unavailable: 'The model endpoint is unavailable',
  upstream_timeout: 'The model endpoint did not answer in time',
  store_unavailable: 'The database is unavailable',
  auth_unavailable: 'Callers cannot be identified',
  internal: 'Internal error',
};

/** An RFC 9457 problem body with the service's `code`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly [extra: string]: unknown;
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** The problem body for any thrown value: a ChatError as it is, anything else as `internal` with no detail. */
export function toProblem(error: unknown, instance?: string): Problem {
  const chat = error instanceof ChatError ? error : new ChatError('internal', 'An unexpected error occurred.');
  return {
    ...chat.extra,
    // In a stream there is no Retry-After header: the wait rides in the problem too.
    ...(chat.retryAfterSeconds !== undefined ? { retryAfter: Math.max(0, Math.ceil(chat.retryAfterSeconds)) } : {}),
    type: `urn:phi-chat:problem:${chat.code}`,
    title: TITLE[chat.code],
    status: STATUS[chat.code],
    detail: chat.message,
    code: chat.code,
    ...(instance ? { instance } : {}),
  };
}

/**
 * The one place failures become HTTP responses. Unexpected errors are logged with their cause and answered as
 * `internal`, never with a stack trace.
 */
export function problemResponse(error: unknown, context?: Pick<InvocationContext, 'error' | 'warn'>): HttpResponseInit {
  const problem = toProblem(error);
  if (problem.code === 'internal') {
    context?.error('internal:', error instanceof Error ? (error.cause ?? error) : error);
  } else if (problem.code === 'store_unavailable') {
    // One line: the Cosmos error object carries pages of request diagnostics.
    const cause = error instanceof Error ? (error.cause ?? error) : error;
    context?.error(`store_unavailable: ${cause instanceof Error ? `${cause.name}: ${cause.message.split('\n')[0]}` : String(cause)}`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/problem+json; charset=utf-8' };
  if (error instanceof ChatError && error.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(Math.max(0, Math.ceil(error.retryAfterSeconds)));
  }
  if (error instanceof BearerUnauthorizedError) headers['www-authenticate'] = error.challenge;
  return { status: problem.status, headers, body: JSON.stringify(problem) };
}
