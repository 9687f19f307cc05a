import type { InvocationContext } from '@azure/functions';
import { streamEventId } from '../chat/streamEventId.js';
import type { TurnEvent } from '../chat/turnTypes.js';
import { presentConversation, presentMessage } from './present.js';
import { toProblem } from './problem.js';
import { sseFrames, type SseEvent } from './sse.js';

/**
 * A turn's events as the SSE body of its stream, or of a resumed one (`from`: the reply length the client already
 * holds). Every event carries its `id:` (`streamEventId`: the reply length once the client has it), so a client
 * can resume after any of them; pings while silent; exactly one terminal event.
 */
export function turnEventStream(
  events: AsyncIterable<TurnEvent>, from: number, pingIntervalMs: number, now: () => Date, context: InvocationContext,
): AsyncIterable<Uint8Array> {
  let length = from;
  const toSse = (event: TurnEvent): SseEvent => {
    switch (event.type) {
      case 'created':
        return {
          id: streamEventId(length), event: 'message.created',
          data: { userMessage: presentMessage(event.userMessage, now()), assistantMessageId: event.assistantMessageId },
        };
      case 'delta':
        length += event.content.length;
        return { id: streamEventId(length), event: 'message.delta', data: { content: event.content } };
      case 'updated':
        // Not a piece of the reply: its id is the length so far, so resuming from it repeats and skips nothing.
        return { id: streamEventId(length), event: 'conversation.updated', data: { conversation: presentConversation(event.conversation) } };
      case 'completed':
        return { id: streamEventId(length, true), event: 'message.completed', data: { message: presentMessage(event.message, now()), context: event.context } };
      case 'failed':
        return { id: streamEventId(length, true), event: 'error', data: toProblem(event.error) };
    }
  };
  return sseFrames(events, {
    pingIntervalMs,
    terminal: new Set(['message.completed', 'error']),
    onBroken: (error) => {
      context.error('turn stream broke', error);
      return { id: streamEventId(length, true), event: 'error', data: toProblem(error) };
    },
  }, toSse);
}
