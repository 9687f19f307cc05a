/** What an attempt returns to {@link optimistically} when another writer came first and it should run again. */
export const AGAIN = Symbol('again');

/** Conditional writes tried before a document that keeps changing is given up on. */
const ATTEMPTS = 8;

/**
 * The optimistic-concurrency loop of every etag-guarded write here: runs `attempt` (read, decide, write under the
 * etag read) until it returns something other than AGAIN, at most 8 times; then `exhausted` answers.
 */
export async function optimistically<T>(attempt: (n: number) => Promise<T | typeof AGAIN>, exhausted: () => T): Promise<T> {
  for (let n = 0; n < ATTEMPTS; n += 1) {
    const result = await attempt(n);
    if (result !== AGAIN) return result;
  }
  return exhausted();
}
