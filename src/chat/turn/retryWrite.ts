import type { TurnDeps } from './TurnDeps.js';

/**
 * Runs a store write, retrying with backoff; false when every attempt failed, logged with `whenLost`: what makes
 * giving up safe (who writes it later, or why it does not matter).
 */
export async function retryWrite(deps: TurnDeps, what: string, whenLost: string, operation: () => Promise<unknown>): Promise<boolean> {
  const attempts = deps.storeAttempts ?? 4;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await operation();
      return true;
    } catch (error) {
      if (attempt >= attempts) {
        deps.log?.(`could not store the ${what} after ${attempts} attempts; ${whenLost}`, error);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}
