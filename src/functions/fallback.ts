import { app } from '@azure/functions';
import { ChatError, NotFoundError } from '../chat/errors.js';
import { problemResponse } from '../http/problem.js';
import { methodsFor } from '../http/routes.js';

// Routing picks a catch-all last, so this answers only what no other function serves: in Azure the host would
// otherwise send an empty 404 (or 404 for a known route with another method), not the contract's problems.
app.http('fallback', {
  route: '{*path}',
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'],
  authLevel: 'anonymous',
  handler: async (request) => {
    const allow = methodsFor(request.params.path ?? '');
    if (allow.length === 0) return problemResponse(new NotFoundError('No such route.'));
    const response = problemResponse(new ChatError('method_not_allowed', `This route serves ${allow.join(', ')}.`));
    return { ...response, headers: { ...(response.headers as Record<string, string>), allow: allow.join(', ') } };
  },
});
