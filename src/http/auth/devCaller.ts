import { UnauthorizedError } from '../../chat/errors.js';
import type { AuthLog, HeaderGetter } from './HeaderGetter.js';
import { isValidUserId } from './isValidUserId.js';

/** The caller of `AUTH_MODE=dev` when no `x-user-id` is sent. */
export const DEV_DEFAULT_USER = 'local-user';

/**
 * The caller in `AUTH_MODE=dev` (local runs only; config refuses it when deployed): `x-user-id`,
 * else `local-user`. A header that is present but not a valid id is a 401, so a typo in a test
 * client does not silently act as `local-user`.
 */
export function devCaller(headers: HeaderGetter, log?: AuthLog): string {
  const header = headers.get('x-user-id');
  if (header === null) return DEV_DEFAULT_USER;
  if (!isValidUserId(header)) {
    log?.debug('caller refused: x-user-id is not a valid id');
    throw new UnauthorizedError('x-user-id must be 1-128 printable characters without surrounding spaces.');
  }
  return header;
}
