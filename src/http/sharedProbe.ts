/**
 * A check that many callers may ask for at once, run at most once per `freshForMs`: callers within that time share
 * the running check or its last outcome, success or failure. Health is anonymous (Easy Auth leaves it open for the
 * platform's probes), so without this anyone could turn a flood of requests into as many reads of the store.
 */
export function sharedProbe(check: () => Promise<void>, freshForMs: number, now: () => number = Date.now): () => Promise<void> {
  let last: { readonly at: number; readonly outcome: Promise<void> } | undefined;
  return () => {
    const at = now();
    if (!last || at - last.at >= freshForMs) {
      const outcome = check();
      // Kept as a settled promise for later callers; no unhandled rejection while nobody waits on it.
      outcome.catch(() => undefined);
      last = { at, outcome };
    }
    return last.outcome;
  };
}
