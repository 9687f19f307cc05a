import { ChatError, NotFoundError, PreconditionFailedError, StoreUnavailableError, ValidationError } from '../chat/errors.js';

/** The HTTP status of a Cosmos SDK error, or undefined for a transport failure. */
export function cosmosStatus(error: unknown): number | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'number') return error.code;
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
  if (status === 400 && /continuation/i.test(String((error as { message?: unknown }).message))) {
    return new ValidationError('The cursor is not one this service returned.', [{ field: 'cursor', message: 'unknown cursor' }]);
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
