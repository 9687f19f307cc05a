import { httpRoute } from '../http/routes.js';
import { services } from '../app.js';
import { ChatError } from '../chat/errors.js';
import { json } from '../http/endpoint.js';
import { problemResponse } from '../http/problem.js';
import { sharedProbe } from '../http/sharedProbe.js';
import type { Services } from '../Services.js';

const CHECK_TIMEOUT_MS = 3_000;
/** How long one store check answers every health request: a platform probe (every few seconds) still sees an outage within 2 s. */
const CHECK_FRESH_MS = 2_000;

const storeChecks = new WeakMap<Services, () => Promise<void>>();

function storeCheck(s: Services): Promise<void> {
  let check = storeChecks.get(s);
  if (!check) {
    check = sharedProbe(() => withTimeout(s.store.ping()), CHECK_FRESH_MS);
    storeChecks.set(s, check);
  }
  return check();
}

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
    let authDown: string | undefined;
    try {
      const s = await services();
      authDown = s.callers.unavailable;
      await storeCheck(s);
    } catch (error) {
      context.warn('health check failed', error instanceof Error ? error.message : error);
      const down = authDown === undefined ? ['store'] : ['store', 'auth'];
      return problemResponse(new ChatError('store_unavailable', 'The database is unreachable.', { down }));
    }
    if (authDown !== undefined) {
      // Its own code, as the store's outage has: neither the model nor the database is what is down.
      return problemResponse(new ChatError('auth_unavailable', authDown, { down: ['auth'] }));
    }
    return json(200, { status: 'ok' });
  },
});
