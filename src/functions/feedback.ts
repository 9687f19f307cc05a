import { services } from '../app.js';
import { setMessageFeedback } from '../chat/messageFeedback.js';
import { conversationIdOf, forCaller, json } from '../http/endpoint.js';
import { messageIdOf } from '../http/messageIdOf.js';
import { presentMessage } from '../http/present.js';
import { parseWith, readJson } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';
import { httpRoute } from '../http/routes.js';

const route = 'conversations/{conversationId}/messages/{messageId}/feedback';

httpRoute('putMessageFeedback', {
  route,
  methods: ['PUT'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const [conversationId, messageId] = [conversationIdOf(request), messageIdOf(request)];
    const { feedbackSchema } = await requestSchemas();
    const body = parseWith(feedbackSchema, await readJson(request, s.config.limits.maxBodyBytes), 'body');
    const message = await setMessageFeedback(s, caller.userId, conversationId, messageId, body);
    return json(200, presentMessage(message, s.clock.now()));
  }),
});

httpRoute('deleteMessageFeedback', {
  route,
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    await setMessageFeedback(s, caller.userId, conversationIdOf(request), messageIdOf(request), null);
    return { status: 204 };
  }),
});
