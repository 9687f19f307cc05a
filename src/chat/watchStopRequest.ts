import type { StopRequests } from './StopRequests.js';

/**
 * Looks for a stop recorded by another instance while a turn's model call runs (waiting for a slot, a 429 retry,
 * the first byte, or streaming): one point read every `intervalMs`, never two at once, so a stop reaches the turn
 * within `intervalMs` plus one read. A failed read is only a missed look: the next one follows. Returns the
 * function that ends the watch.
 */
export function watchStopRequest(
  stops: StopRequests, userId: string, turnId: string, intervalMs: number, onStop: () => void,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const look = async (): Promise<void> => {
    const requested = await stops.requestedAt(userId, turnId).catch(() => null);
    if (ended) return;
    if (requested !== null) {
      ended = true;
      onStop();
      return;
    }
    timer = setTimeout(() => void look(), intervalMs);
  };
  timer = setTimeout(() => void look(), intervalMs);
  return () => {
    ended = true;
    clearTimeout(timer);
  };
}
