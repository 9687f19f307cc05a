import type { HttpRequest } from '@azure/functions';
import { NotFoundError } from '../chat/errors.js';

/** Message ids the server hands out: `m_` and base64url characters (derived from the turn's id). */
export const MESSAGE_ID = /^m_[A-Za-z0-9_-]{1,64}$/;

/** The `{messageId}` route parameter; an id this service could not have issued is simply not found. */
export function messageIdOf(request: HttpRequest): string {
  const id = request.params.messageId ?? '';
  if (!MESSAGE_ID.test(id)) throw new NotFoundError('No such message.');
  return id;
}
