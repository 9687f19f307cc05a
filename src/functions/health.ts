import { httpRoute } from '../http/routes.js';
import { services } from '../app.js';
import { ChatError } from '../chat/errors.js';
import { json } from '../http/endpoint.js';
import { problemResponse } from '../http/problem.js';

const CHECK_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

httpRoute('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (_request, context) => {
    try {
      const s = await services();
      await withTimeout(s.store.ping());
      return json(200, { status: 'ok' });
    } catch (error) {
      context.warn('health check failed', error instanceof Error ? error.message : error);
      return problemResponse(new ChatError('store_unavailable', 'The database is unreachable.', { down: ['store'] }));
    }
  },
});
