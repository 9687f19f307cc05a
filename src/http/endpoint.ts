import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { NotFoundError } from '../chat/errors.js';
import type { Caller } from './caller.js';
import { problemResponse } from './problem.js';
import { CONVERSATION_ID } from './conversationId.js';
import type { Services, ServicesSource } from '../Services.js';

export type CallerHandler = (
  request: HttpRequest, context: InvocationContext, services: Services, caller: Caller,
) => Promise<HttpResponseInit>;

/**
 * Wraps a handler that acts for a caller: takes the services from the source the function file hands in (the
 * composition root's, built on first use), resolves the caller once at the edge, and turns every failure into a
 * problem response (a handler that throws while streaming is enabled may otherwise send nothing at all).
 */
export function forCaller(services: ServicesSource, handler: CallerHandler): HttpHandler {
  return async (request, context) => {
    try {
      const built = await services();
      const caller = await built.callers.resolve(request.headers, context);
      return await handler(request, context, built, caller);
    } catch (error) {
      return problemResponse(error, context);
    }
  };
}

/** The `{conversationId}` route parameter; an id this service could not have issued is simply not found. */
export function conversationIdOf(request: HttpRequest): string {
  const id = request.params.conversationId ?? '';
  if (!CONVERSATION_ID.test(id)) throw new NotFoundError('No such conversation.');
  return id;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}
