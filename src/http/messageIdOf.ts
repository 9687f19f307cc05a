import type { HttpRequest } from '@azure/functions';
import { NotFoundError } from '../chat/errors.js';
import { MESSAGE_ID } from './messageId.js';


/** The `{messageId}` route parameter; an id this service could not have issued is simply not found. */
export function messageIdOf(request: HttpRequest): string {
  const id = request.params.messageId ?? '';
  if (!MESSAGE_ID.test(id)) throw new NotFoundError('No such message.');
  return id;
}
