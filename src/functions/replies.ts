import { services } from '../app.js';
import { httpRoute } from '../http/routes.js';
import { conversationIdOf, forCaller, json } from '../http/endpoint.js';
import { messageIdOf } from '../http/messageIdOf.js';
import { presentMessage } from '../http/present.js';
import { parseWith, queryObject } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';
import { SSE_HEADERS } from '../http/sse.js';
import { turnEventStream } from '../http/turnEventStream.js';

/** A reply being produced: stop it, or pick its stream back up after a dropped connection. */

httpRoute('stopMessage', {
  route: 'conversations/{conversationId}/messages/{messageId}/stop',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const conversationId = conversationIdOf(request);
    const messageId = messageIdOf(request);
    const { accepted, message } = await s.stops.stop(caller.userId, conversationId, messageId);
    return json(accepted ? 202 : 200, presentMessage(message, s.clock.now()));
  }),
});

httpRoute('streamMessage', {
  route: 'conversations/{conversationId}/messages/{messageId}/stream',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, context, s, caller) => {
    const conversationId = conversationIdOf(request);
    const messageId = messageIdOf(request);
    const { streamQuery } = await requestSchemas();
    const query = parseWith(streamQuery, queryObject(request), 'query string');
    // The header wins: EventSource sends it on reconnecting, with an id newer than the one in the URL it was opened with.
    const header = request.headers.get('last-event-id');
    const lastEventId = header !== null
      ? { value: header, field: 'Last-Event-ID' }
      : query.lastEventId !== undefined ? { value: query.lastEventId, field: 'lastEventId' } : undefined;
    const resumed = await s.streams.follow(caller.userId, conversationId, messageId, lastEventId);
    const body = turnEventStream(resumed.events, resumed.from, s.config.limits.pingIntervalMs, () => s.clock.now(), context);
    return { status: 200, headers: SSE_HEADERS, body };
  }),
});
