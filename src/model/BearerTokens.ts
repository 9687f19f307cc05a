import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** Fetched again this long before expiry (what @azure/core-rest-pipeline's bearer policy does), unless the token says when. */
const REFRESH_WINDOW_MS = 2 * 60_000;
/** A token this close to expiry is not sent: it has to outlive the request's flight. */
const EXPIRY_MARGIN_MS = 30_000;

interface Fetch {
  readonly token: Promise<AccessToken>;
  readonly controller: AbortController;
  waiters: number;
}

/** Rejects with the signal's reason once it aborts, whatever `promise` does. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/**
 * Microsoft Entra ID bearer tokens for one scope, as `getBearerTokenProvider` gives them (reused until two minutes
 * before expiry, then refreshed while the old one still serves), except that every wait is bounded by the call's
 * signal: a credential that is slow or never answers costs a call its first-byte deadline or its abort, never
 * more, and holds no slot past either. Callers share one fetch; when the last one waiting gives up, it is aborted
 * and the next call starts afresh.
 */
export class BearerTokens {
  readonly #credential: TokenCredential;
  readonly #scope: string;
  #token: AccessToken | undefined;
  #fetch: Fetch | undefined;

  constructor(credential: TokenCredential, scope: string) {
    this.#credential = credential;
    this.#scope = scope;
  }

  /** A token to send now; rejects with `signal.reason` when the signal aborts first, or with the credential's error. */
  async get(signal: AbortSignal): Promise<string> {
    const now = Date.now();
    const token = this.#token;
    if (token && now < token.expiresOnTimestamp - EXPIRY_MARGIN_MS) {
      if (now >= (token.refreshAfterTimestamp ?? token.expiresOnTimestamp - REFRESH_WINDOW_MS)) {
        // The old token still serves; a failed refresh is tried again by the next call.
        this.#start().token.catch(() => {});
      }
      return token.token;
    }
    const fetch = this.#start();
    fetch.waiters += 1;
    try {
      return (await untilAborted(fetch.token, signal)).token;
    } finally {
      fetch.waiters -= 1;
      if (fetch.waiters === 0 && signal.aborted && this.#fetch === fetch) {
        this.#fetch = undefined;
        fetch.controller.abort();
      }
    }
  }

  #start(): Fetch {
    if (this.#fetch) return this.#fetch;
    const controller = new AbortController();
    const token = this.#credential.getToken(this.#scope, { abortSignal: controller.signal }).then((got) => {
      if (!got) throw new Error(`The credential gave no token for ${this.#scope}.`);
      this.#token = got;
      return got;
    });
    const fetch: Fetch = { token, controller, waiters: 0 };
    this.#fetch = fetch;
    void token.then(
      () => this.#settled(fetch),
      () => this.#settled(fetch),
    );
    return fetch;
  }

  #settled(fetch: Fetch): void {
    if (this.#fetch === fetch) this.#fetch = undefined;
  }
}
