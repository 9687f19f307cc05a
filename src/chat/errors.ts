/**
 * The closed set of failures the service reports. Each maps to one RFC 9457 problem in
 * `src/http/problem.ts`; anything that is not one of these is `internal`.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'content_filtered'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'conversation_busy'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'context_length_exceeded'
  | 'unsupported_media_type'
  | 'idempotency_key_reused'
  | 'quota_exceeded'
  | 'rate_limited'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'store_unavailable'
  /** Health only: callers cannot be identified (the platform's authentication this mode relies on is off). */
  | 'auth_unavailable'
  | 'internal';

/** One field that failed validation. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Base of every expected failure; `extra` members are added to the problem body (e.g. `window`, `errors`). */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    /** Seconds the client should wait, sent as `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

export class ValidationError extends ChatError {
  constructor(message: string, errors: readonly FieldError[] = []) {
    super('validation_failed', message, { errors });
  }
}

export class NotFoundError extends ChatError {
  constructor(message = 'No such resource.') {
    super('not_found', message);
  }
}

export class UnauthorizedError extends ChatError {
  constructor(message = 'The caller could not be identified.') {
    super('unauthorized', message);
  }
}

export class ConflictError extends ChatError {
  constructor(message = 'A turn is already running in this conversation.') {
    super('conversation_busy', message);
  }
}

export class PreconditionFailedError extends ChatError {
  constructor(message = 'The resource has changed since it was read (If-Match is stale).') {
    super('precondition_failed', message);
  }
}

export class StoreUnavailableError extends ChatError {
  constructor(message = 'The database is unreachable.', cause?: unknown) {
    super('store_unavailable', message);
    if (cause !== undefined) this.cause = cause;
  }
}

export type UpstreamCode = 'upstream_error' | 'upstream_unavailable' | 'upstream_timeout' | 'rate_limited' | 'content_filtered';

/** A failure of the model endpoint, already classified by the model adapter. */
export class UpstreamError extends ChatError {
  constructor(code: UpstreamCode, message: string, retryAfterSeconds?: number, readonly upstreamStatus?: number) {
    super(code, message, {}, retryAfterSeconds);
  }
}

/** A failure as the turn reports it: one of the closed set, or `internal` for anything unexpected. */
export function asChatError(error: unknown): ChatError {
  return error instanceof ChatError ? error : new ChatError('internal', 'The turn failed unexpectedly.');
}
