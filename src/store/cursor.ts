import { ValidationError } from '../chat/errors.js';

/** Wraps a Cosmos continuation token into the opaque `cursor` clients pass back. */
export function encodeCursor(continuationToken: string | undefined): string | null {
  return continuationToken ? Buffer.from(JSON.stringify({ c: continuationToken }), 'utf8').toString('base64url') : null;
}

/** The continuation token inside a cursor; a cursor the service did not make is a validation error. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const invalid = new ValidationError('The cursor is not one this service returned.', [{ field: 'cursor', message: 'unknown cursor' }]);
  if (!/^[A-Za-z0-9_-]{1,8192}$/.test(cursor)) throw invalid;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'c' in parsed && typeof parsed.c === 'string' && parsed.c.length > 0) {
      return parsed.c;
    }
  } catch {
    // fall through: not ours
  }
  throw invalid;
}
