/**
 * How a turn's lease, its stop and its reservation relate; shared by the turn and the start-up check so the two
 * cannot drift apart. The abort signal that fires `stopBeforeLeaseMs` before the lease is what guarantees a turn
 * never outlives its lock; the config check only refuses settings whose waits clearly cannot end in time.
 */
export const LEASE_TIMING = {
  /** A turn's model call is aborted this long before its lease ends: room to store the reply while the lock holds. */
  stopBeforeLeaseMs: 1_000,
  /**
   * How long a turn's reservation outlives its lease: settling (the final write, retried with backoff, then the
   * release) starts only after the stop and can take longer than the margin, and until it is done the reservation
   * is what counts the turn's tokens. Only a lost instance's reservation is ever held this long.
   */
  settleBudgetMs: 30_000,
} as const;
