/** What the page needs of a problem (a ChatProblem, or a fetch that failed outright). */
export interface ProblemLike {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly retryAfter?: number | undefined;
  readonly body?: Readonly<Record<string, unknown>>;
}

const numberFormat = new Intl.NumberFormat('en-US');

/** A wait as a person says it: "45 s", "12 min", "3 h 12 min". */
export function describeWait(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A problem in words for the page's alert: what happened and, where there is one, what to do or when. */
export function describeProblem(problem: ProblemLike): string {
  const wait = problem.retryAfter !== undefined ? describeWait(problem.retryAfter) : undefined;
  switch (problem.code) {
    case 'quota_exceeded': {
      const limit = problem.body?.dailyTokenLimit;
      const quota = typeof limit === 'number' ? `today's quota of ${numberFormat.format(limit)} tokens` : "today's token quota";
      return `You have used ${quota}. It resets at midnight UTC${wait ? `, in ${wait}` : ''}.`;
    }
    case 'rate_limited':
      return `Too many replies are being written at once. Try again${wait ? ` in ${wait}` : ' shortly'}.`;
    case 'conversation_busy':
      return 'A reply is still being written in this conversation. Wait for it to finish, or stop it.';
    case 'context_length_exceeded': {
      const { promptTokens, window } = problem.body ?? {};
      const numbers = typeof promptTokens === 'number' && typeof window === 'number'
        ? ` (it needs ${numberFormat.format(promptTokens)} tokens; the model reads ${numberFormat.format(window)} at most)` : '';
      return `This message is too long for the model${numbers}. Shorten it or start a new chat.`;
    }
    case 'content_filtered':
      return "The model's content filter refused this message.";
    case 'validation_failed':
      return `The service did not accept this: ${problem.detail}`;
    case 'not_found':
      return `Not found: ${problem.detail}`;
    case 'unauthorized':
      return 'You are not signed in, or your sign-in has expired.';
    case 'upstream_error':
    case 'upstream_unavailable':
    case 'upstream_timeout':
      return `The model did not answer properly (${problem.detail}). Try again${wait ? ` in ${wait}` : ''}.`;
    case 'store_unavailable':
      return 'The database cannot be reached right now. Try again shortly.';
    case 'connection_lost':
      return 'The connection to the service was lost and could not be resumed. What arrived is kept; reload to see the rest.';
    case 'network':
      return 'The service cannot be reached. Is npm start still running?';
    default:
      return problem.detail || `The request failed (HTTP ${problem.status}).`;
  }
}

/** What is left of today: used tokens and requests, and the quota (with when it resets) or "no daily limit". */
export function describeUsage(usage: {
  totals: { totalTokens: number; requests: number };
  quota: { dailyTokenLimit: number | null; remainingToday: number | null; resetsInSeconds?: number };
}): { today: string; quota: string } {
  const { totalTokens, requests } = usage.totals;
  const today = `Today: ${numberFormat.format(totalTokens)} tokens in ${numberFormat.format(requests)} ${requests === 1 ? 'request' : 'requests'}`;
  const { dailyTokenLimit, remainingToday, resetsInSeconds } = usage.quota;
  if (dailyTokenLimit === null) return { today, quota: 'No daily limit' };
  const resets = resetsInSeconds !== undefined ? ` · resets in ${describeWait(resetsInSeconds)}` : '';
  return { today, quota: `${numberFormat.format(remainingToday ?? 0)} of ${numberFormat.format(dailyTokenLimit)} tokens left today${resets}` };
}
