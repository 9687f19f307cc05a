import { ChatProblem } from './ChatProblem.js';
import { sseFrames } from './sseFrames.js';
import type { ChatEvent, Conversation, Context, Message } from './types.js';

/** A reply as it streams: iterate it once for its events; `stop()` asks the service to end it early. */
export interface ReplyStream extends AsyncIterable<ChatEvent> {
  /** The reply's message id, known once `message.created` arrived (or given, for a resumed reply). */
  readonly assistantMessageId: string | undefined;
  /** The `Idempotency-Key` every attempt of this turn's POST carries; undefined for a resumed reply. */
  readonly idempotencyKey: string | undefined;
  /**
   * Stops the reply (the stop route): the stream then ends with `message.completed`, status `incomplete`, holding
   * exactly the text already received. Called before `message.created`, it waits for it.
   */
  stop(): Promise<Message>;
}

/** How a reply stream reaches the service; made by createChatClient. */
export interface ReplyTransport {
  /** The turn's POST (send or regenerate), with the same Idempotency-Key each time. */
  start(signal: AbortSignal | undefined): Promise<Response>;
  /** The resume route for the reply, from after `lastEventId` (the whole reply so far without it). */
  resume(assistantMessageId: string, lastEventId: string | undefined, signal: AbortSignal | undefined): Promise<Response>;
  stop(assistantMessageId: string): Promise<Message>;
}

export interface ReplyStreamOptions {
  readonly idempotencyKey?: string;
  /** Resume an existing reply instead of starting one (e.g. after a page reload). */
  readonly assistantMessageId?: string;
  readonly signal?: AbortSignal;
  /** Reconnects in a row without progress before the stream gives up (default 6). */
  readonly maxReconnects?: number;
}

/**
 * Retrying the POST is safe because every attempt carries the same Idempotency-Key: the service answers a retry of a
 * finished turn by replaying it, and a retry while our own first attempt still runs with 409 conversation_busy, which
 * is waited out. Once the reply's id is known, a dropped connection is resumed from the last SSE id seen. Text is
 * counted as it is handed on, so whatever a reconnect sends again is cut away and each piece is yielded once.
 */
export function replyStream(transport: ReplyTransport, options: ReplyStreamOptions = {}): ReplyStream {
  let assistantMessageId = options.assistantMessageId;
  let iterated = false;
  let pendingStop: { resolve(m: Message): void; reject(e: unknown): void } | undefined;
  let stopped: Promise<Message> | undefined;
  const maxReconnects = options.maxReconnects ?? 6;
  const signal = options.signal;

  const requestStop = (id: string) => {
    const result = transport.stop(id);
    if (pendingStop) {
      result.then(pendingStop.resolve, pendingStop.reject);
      pendingStop = undefined;
    }
    return result;
  };

  async function* events(): AsyncGenerator<ChatEvent> {
    let delivered = '';
    let lastEventId: string | undefined;
    let createdSeen = options.assistantMessageId !== undefined;
    let startAttempts = 0;
    let failures = 0;
    for (;;) {
      let response: Response | undefined;
      let position = 0;
      try {
        if (assistantMessageId === undefined) {
          startAttempts += 1;
          response = await transport.start(signal);
        } else {
          response = await transport.resume(assistantMessageId, lastEventId, signal);
          // After an id the service sends only what follows it; without one, the whole reply again.
          position = lastEventId === undefined ? 0 : delivered.length;
        }
      } catch (error) {
        if (signal?.aborted || error instanceof ChatProblem) throw error;
        // A network failure: nothing arrived, so the same request goes again.
      }
      if (response !== undefined && !response.ok) {
        const problem = await ChatProblem.fromResponse(response);
        // Our own earlier attempt of this turn is still running: its replay is ready once it ends.
        const ownTurnRunning = problem.code === 'conversation_busy' && assistantMessageId === undefined && startAttempts > 1;
        if (!ownTurnRunning) throw problem;
        response = undefined;
      }
      if (response !== undefined) {
        try {
          for await (const frame of sseFrames(response, signal)) {
            failures = 0;
            if (frame.id !== undefined) lastEventId = frame.id;
            const data = JSON.parse(frame.data) as Record<string, unknown>;
            switch (frame.event) {
              case 'message.created': {
                assistantMessageId = data.assistantMessageId as string;
                if (pendingStop) void requestStop(assistantMessageId).catch(() => undefined);
                if (!createdSeen) {
                  createdSeen = true;
                  yield { type: 'message.created', userMessage: data.userMessage as Message, assistantMessageId };
                }
                break;
              }
              case 'message.delta': {
                const piece = data.content as string;
                const fresh = piece.slice(Math.max(0, delivered.length - position));
                position += piece.length;
                if (fresh !== '') {
                  delivered += fresh;
                  yield { type: 'message.delta', content: fresh };
                }
                break;
              }
              case 'conversation.updated':
                yield { type: 'conversation.updated', conversation: data.conversation as Conversation };
                break;
              case 'message.completed': {
                const message = data.message as Message;
                // A replay may carry no deltas: the stored text completes what was handed on.
                if (message.content.length > delivered.length && message.content.startsWith(delivered)) {
                  yield { type: 'message.delta', content: message.content.slice(delivered.length) };
                }
                yield { type: 'message.completed', message, ...(data.context ? { context: data.context as Context } : {}) };
                return;
              }
              case 'error':
                yield { type: 'error', problem: new ChatProblem(data) };
                return;
              default:
                // An event this client does not know yet: skipped, as the contract allows new ones.
                break;
            }
          }
        } catch (error) {
          if (signal?.aborted || error instanceof SyntaxError) throw error;
          // The connection broke mid-stream: resumed below.
        }
      }
      failures += 1;
      if (failures > maxReconnects) {
        throw new ChatProblem({ status: 0, code: 'connection_lost', detail: 'The connection to the service was lost and could not be resumed.' });
      }
      await sleep(Math.min(250 * 2 ** (failures - 1), 4000), signal);
    }
  }

  return {
    get assistantMessageId() {
      return assistantMessageId;
    },
    idempotencyKey: options.idempotencyKey,
    stop() {
      if (stopped) return stopped;
      if (assistantMessageId !== undefined) return (stopped = requestStop(assistantMessageId));
      stopped = new Promise<Message>((resolve, reject) => {
        pendingStop = { resolve, reject };
      });
      return stopped;
    },
    [Symbol.asyncIterator]() {
      if (iterated) throw new Error('A reply stream can be iterated once.');
      iterated = true;
      return events();
    },
  };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
