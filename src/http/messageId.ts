import { NotFoundError } from '../chat/errors.js';

/** Message ids the server hands out: `m_`, 21 characters of the turn id and `u` or `a`. */
export const MESSAGE_ID = /^m_[A-Za-z0-9_-]{22}$/;

/** The `{messageId}` route parameter; an id this service could not have issued is simply not found. */
export function messageIdOf(request: { readonly params: Readonly<Record<string, string | undefined>> }): string {
  const id = request.params.messageId ?? '';
  if (!MESSAGE_ID.test(id)) throw new NotFoundError('No such message.');
  return id;
}
