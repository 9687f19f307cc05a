import type { Conversation, Message } from '../chat/conversation.js';
import { presentConversation, presentMessage } from './present.js';

/**
 * `{ "conversation": …, "messages": [ … ] }` as text, a chunk per page, so a conversation of any length is never one
 * string in memory. The whole is one JSON document; the messages are the contract's Message (with `parentId`, and
 * `feedback` where set), as they stand at `now`.
 */
export async function* conversationJson(
  conversation: Conversation, pages: AsyncIterable<readonly (Message & { readonly parentId: string | null })[]>, now: Date,
): AsyncIterable<string> {
  yield `{"conversation":${JSON.stringify(presentConversation(conversation))},"messages":[`;
  let first = true;
  for await (const page of pages) {
    const items = page.map((m) => JSON.stringify(presentMessage(m, now))).join(',');
    yield first ? items : `,${items}`;
    first = false;
  }
  yield ']}';
}
