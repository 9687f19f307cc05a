import type { Container, SqlQuerySpec } from '@azure/cosmos';
import type { Page } from '../chat/conversation.js';
import type { PageRequest } from '../chat/ConversationStore.js';
import type { ChatError } from '../chat/errors.js';
import { cosmosStatus, toChatError } from './cosmosErrors.js';
import { cursorScope, decodeCursor, encodeCursor, unknownCursor } from './cursor.js';

/** One page of a query in the caller's partition, its continuation wrapped in a cursor bound to the query. */
export async function pageQuery<T>(container: Container, query: SqlQuerySpec, userId: string, page: PageRequest): Promise<Page<T>> {
  const scope = cursorScope(query.query, query.parameters ?? []);
  const continuationToken = decodeCursor(page.cursor, scope);
  const fetch = (token: string | undefined, limit: number) =>
    container.items.query<T>(query, { partitionKey: userId, maxItemCount: limit, continuationToken: token }).fetchNext();
  let response: Awaited<ReturnType<typeof fetch>>;
  try {
    response = await fetch(continuationToken, page.limit);
  } catch (error) {
    throw await pageFailure(error, continuationToken === undefined ? undefined : () => fetch(undefined, 1));
  }
  return { items: response.resources.slice(0, page.limit), nextCursor: encodeCursor(response.continuationToken, scope) };
}

/**
 * Why a page failed. A client's continuation token that passed the scope check (whoever knows the code can make
 * one) can still be garbage the SDK throws on, or the store refuses: the query itself is fixed and known to work,
 * so if it runs without the token, the token was at fault (400); if it does not, the store is (503). A store that
 * answered with a status other than 400 (throttling, 5xx) is the store's failure either way.
 */
async function pageFailure(error: unknown, withoutCursor: (() => Promise<unknown>) | undefined): Promise<ChatError> {
  const chat = toChatError(error);
  const status = cosmosStatus(error);
  if (withoutCursor === undefined || chat.code !== 'store_unavailable' || (status !== undefined && status !== 400)) return chat;
  try {
    await withoutCursor();
  } catch {
    return chat;
  }
  return unknownCursor();
}
