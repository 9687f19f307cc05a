import { ValidationError } from '../../chat/errors.js';
import type { AuthLog, HeaderGetter } from './HeaderGetter.js';
import { isValidUserId } from './isValidUserId.js';

/** The caller of `AUTH_MODE=dev` when no `x-user-id` is sent. */
export const DEV_DEFAULT_USER = 'local-user';

/**
 * The caller in `AUTH_MODE=dev` (local runs only; config refuses it when deployed): `x-user-id`,
 * else `local-user`. Identity never fails in this mode (the contract: no 401), but a header that is present
 * and not a valid id is bad input (400), so a typo in a test client does not silently act as `local-user`.
 */
export function devCaller(headers: HeaderGetter, log?: AuthLog): string {
  const header = headers.get('x-user-id');
  if (header === null) return DEV_DEFAULT_USER;
  if (!isValidUserId(header)) {
    log?.debug('caller refused: x-user-id is not a valid id');
    throw new ValidationError('x-user-id must be 1-128 printable characters without surrounding spaces.', [
      { field: 'x-user-id', message: 'not a valid user id' },
    ]);
  }
  return header;
}
