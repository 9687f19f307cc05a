import { createHash } from 'node:crypto';
import { ValidationError } from '../chat/errors.js';

/**
 * The query a cursor belongs to: a short hash of its text and parameters (caller, conversation, order). A cursor
 * carries it, so one taken from another list, caller or order, or made up, is refused before the store is asked
 * (Cosmos rejects some forged tokens, the embedded store none).
 */
export function cursorScope(query: string, parameters: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify([query, parameters])).digest('base64url').slice(0, 16);
}

/** Wraps a Cosmos continuation token into the opaque `cursor` clients pass back. */
export function encodeCursor(continuationToken: string | undefined, scope: string): string | null {
  return continuationToken ? Buffer.from(JSON.stringify({ c: continuationToken, s: scope }), 'utf8').toString('base64url') : null;
}

/** The one answer to a cursor the service cannot continue from, however it was found out. */
export function unknownCursor(): ValidationError {
  return new ValidationError('The cursor is not one this service returned.', [{ field: 'cursor', message: 'unknown cursor' }]);
}

/** The continuation token inside a cursor; a cursor the service did not make for this query is a validation error. */
export function decodeCursor(cursor: string | undefined, scope: string): string | undefined {
  if (cursor === undefined) return undefined;
  const invalid = unknownCursor();
  if (!/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) throw invalid;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      parsed && typeof parsed === 'object' && 'c' in parsed && typeof parsed.c === 'string' && parsed.c.length > 0 &&
      's' in parsed && parsed.s === scope
    ) {
      return parsed.c;
    }
  } catch {
    // fall through: not ours
  }
  throw invalid;
}
