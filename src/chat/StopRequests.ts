/**
 * Where a stop asked on one instance reaches the turn running on another: the stop route records it, the running
 * turn looks for it about once a second while it streams. A stop for a turn that already finished is harmless.
 */
export interface StopRequests {
  /** Records that the turn should stop; recording it again changes nothing. */
  request(userId: string, turnId: string, at: Date): Promise<void>;
  /** When a stop was first requested for the turn; null when none was. */
  requestedAt(userId: string, turnId: string): Promise<string | null>;
}
