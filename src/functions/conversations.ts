import { app } from '@azure/functions';
import { services } from '../app.js';
import { httpRoute } from '../http/routes.js';
import { PreconditionFailedError } from '../chat/errors.js';
import { conversationIdOf, forCaller, json } from '../http/endpoint.js';
import { presentConversation } from '../http/present.js';
import { parseWith, queryObject, readJson } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';

function etagHeader(etag: string): Record<string, string> {
  return { etag: `"${etag}"` };
}

/** `If-Match: "etag"` (or `*`); a list of etags or a weak one is refused as a precondition the server cannot honour. */
function ifMatchOf(header: string | null): string | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (value === '*') return '*';
  const match = /^"([^"]{1,200})"$/.exec(value) ?? /^([^",\s]{1,200})$/.exec(value);
  if (!match?.[1]) throw new PreconditionFailedError('If-Match must be one strong ETag as returned by this service.');
  return match[1];
}

httpRoute('createConversation', {
  route: 'conversations',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const { createConversationSchema } = await requestSchemas();
    const body = parseWith(createConversationSchema, await readJson(request, s.config.limits.maxBodyBytes), 'body');
    const conversation = await s.conversations.create(caller.userId, body);
    return json(201, presentConversation(conversation), {
      location: `/api/conversations/${conversation.id}`,
      ...etagHeader(conversation.etag),
    });
  }),
});

httpRoute('listConversations', {
  route: 'conversations',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const { listConversationsQuery } = await requestSchemas();
    const query = parseWith(listConversationsQuery, queryObject(request), 'query string');
    const page = await s.conversations.list(caller.userId, { limit: query.limit, cursor: query.cursor });
    return json(200, { items: page.items.map(presentConversation), nextCursor: page.nextCursor });
  }),
});

httpRoute('getConversation', {
  route: 'conversations/{conversationId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const conversation = await s.conversations.get(caller.userId, conversationIdOf(request));
    return json(200, presentConversation(conversation), etagHeader(conversation.etag));
  }),
});

httpRoute('updateConversation', {
  route: 'conversations/{conversationId}',
  methods: ['PATCH'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const id = conversationIdOf(request);
    const ifMatch = ifMatchOf(request.headers.get('if-match'));
    const { patchConversationSchema } = await requestSchemas();
    const body = parseWith(patchConversationSchema, await readJson(request, s.config.limits.maxBodyBytes), 'body');
    const conversation = await s.conversations.update(caller.userId, id, body, ifMatch);
    return json(200, presentConversation(conversation), etagHeader(conversation.etag));
  }),
});

httpRoute('deleteConversation', {
  route: 'conversations/{conversationId}',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    await s.conversations.delete(caller.userId, conversationIdOf(request));
    return { status: 204 };
  }),
});

app.timer('sweepDeletedConversations', {
  // Finishes deletes that an instance lost half-way: every 15 minutes.
  schedule: '0 */15 * * * *',
  handler: async (_timer, context) => {
    const finished = await (await services()).store.sweepDeleted();
    if (finished > 0) context.log(`finished ${finished} interrupted conversation deletes`);
  },
});
