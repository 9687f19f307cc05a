import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { httpRoute } from '../http/routes.js';
import { services, type Services } from '../app.js';
import { ValidationError } from '../chat/errors.js';
import type { StartedTurn } from '../chat/turnTypes.js';
import { messageIdOf } from '../http/messageIdOf.js';
import { conversationIdOf, forCaller, json } from '../http/endpoint.js';
import { presentMessage } from '../http/present.js';
import { problemResponse } from '../http/problem.js';
import { parseWith, queryObject, readJson } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';
import type { postMessageSchema } from '../http/schemas.js';
import { SSE_HEADERS } from '../http/sse.js';
import { turnEventStream } from '../http/turnEventStream.js';

httpRoute('listMessages', {
  route: 'conversations/{conversationId}/messages',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const id = conversationIdOf(request);
    const { listMessagesQuery } = await requestSchemas();
    const query = parseWith(listMessagesQuery, queryObject(request), 'query string');
    const page = await s.conversations.tree.list(caller.userId, id, query);
    const now = s.clock.now();
    return json(200, { items: page.items.map((m) => presentMessage(m, now)), nextCursor: page.nextCursor });
  }),
});

let messageSchema: { limit: number; schema: ReturnType<typeof postMessageSchema> } | undefined;

async function schemaFor(s: Services): Promise<ReturnType<typeof postMessageSchema>> {
  if (messageSchema?.limit !== s.config.limits.maxContentChars) {
    const { postMessageSchema } = await requestSchemas();
    messageSchema = { limit: s.config.limits.maxContentChars, schema: postMessageSchema(s.config.limits.maxContentChars) };
  }
  return messageSchema.schema;
}

/** `Idempotency-Key`: printable ASCII, at most 255 characters. */
function idempotencyKeyOf(header: string | null): string | undefined {
  if (header === null) return undefined;
  if (!/^[\x21-\x7E]{1,255}$/.test(header)) {
    throw new ValidationError('Idempotency-Key must be 1 to 255 printable ASCII characters.', [
      { field: 'Idempotency-Key', message: 'invalid' },
    ]);
  }
  return header;
}

function wantsJson(accept: string | null): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim().toLowerCase());
  return types.includes('application/json') && !types.includes('text/event-stream');
}

httpRoute('postMessage', {
  route: 'conversations/{conversationId}/messages',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, context, s, caller): Promise<HttpResponseInit> => {
    const id = conversationIdOf(request);
    const idempotencyKey = idempotencyKeyOf(request.headers.get('idempotency-key'));
    const raw = await readJson(request, s.config.limits.maxBodyBytes);
    const body = parseWith(await schemaFor(s), raw, 'body');
    const { parentId, ...turnBody } = body;
    const turn = await s.turns.start(caller.userId, id, {
      ...turnBody, idempotencyKey, ...(parentId !== undefined ? { target: { kind: 'send', parentId } } : {}),
    });
    return turnResponse(turn, request, context, s);
  }),
});

httpRoute('getMessage', {
  route: 'conversations/{conversationId}/messages/{messageId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const id = conversationIdOf(request);
    const message = await s.conversations.tree.get(caller.userId, id, messageIdOf(request));
    return json(200, presentMessage(message, s.clock.now()));
  }),
});

httpRoute('regenerateMessage', {
  route: 'conversations/{conversationId}/messages/{messageId}/regenerate',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, context, s, caller): Promise<HttpResponseInit> => {
    const id = conversationIdOf(request);
    const messageId = messageIdOf(request);
    const idempotencyKey = idempotencyKeyOf(request.headers.get('idempotency-key'));
    const { regenerateSchema } = await requestSchemas();
    const body = parseWith(regenerateSchema, await readJson(request, s.config.limits.maxBodyBytes), 'body');
    const turn = await s.turns.start(caller.userId, id, { ...body, content: '', idempotencyKey, target: { kind: 'regenerate', messageId } });
    return turnResponse(turn, request, context, s);
  }),
});

/** A started turn as the client asked for it: one JSON body once it is stored, or the stream of its events. */
async function turnResponse(turn: StartedTurn, request: HttpRequest, context: InvocationContext, s: Services): Promise<HttpResponseInit> {
  const now = () => s.clock.now();
  if (wantsJson(request.headers.get('accept'))) {
    const outcome = await turn.outcome;
    if (outcome.type === 'failed') return problemResponse(outcome.error, context);
    return json(201, {
      userMessage: presentMessage(turn.userMessage, now()),
      assistantMessage: presentMessage(outcome.message, now()),
      context: outcome.context,
    });
  }
  const frames = turnEventStream(turn.events, 0, s.config.limits.pingIntervalMs, now, context);
  return { status: 200, headers: SSE_HEADERS, body: frames };
}

