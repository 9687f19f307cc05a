import { ChatError, NotFoundError, PreconditionFailedError, StoreUnavailableError } from '../chat/errors.js';
import { unknownCursor } from './cursor.js';

/**
 * The HTTP status of a Cosmos SDK error, or undefined for a transport failure. A failed batch request arrives wrapped
 * (`Batch request error: …`, the SDK's error as its `cause`), so the cause is looked at too.
 */
export function cosmosStatus(error: unknown): number | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 3; e = (e as { cause?: unknown }).cause, depth += 1) {
    if ('code' in e && typeof e.code === 'number') return e.code;
  }
  return undefined;
}

/**
 * Turns a Cosmos failure into the service's closed error set. Transport failures, throttling and 5xx mean the
 * store is unavailable to this request; a rejected continuation token is the client's bad cursor.
 */
export function toChatError(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  const status = cosmosStatus(error);
  if (status === 404) return new NotFoundError();
  if (status === 412) return new PreconditionFailedError();
  // A document (and a transactional batch) is at most 2 MB: a message the settings let through but Cosmos cannot hold.
  if (status === 413) return new ChatError('payload_too_large', 'The message is too large to store.');
  if (status === 400 && /continuation/i.test(String((error as { message?: unknown }).message))) {
    return unknownCursor();
  }
  return new StoreUnavailableError('The database is unreachable.', error);
}

/** Runs a store operation, translating every failure. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toChatError(error);
  }
}
