import type { IncomingMessage } from 'node:http';

/** Request headers a browser app may send (answered to every preflight; the API reads no others). */
const ALLOWED_HEADERS = [
  'accept',
  'authorization',
  'content-type',
  'idempotency-key',
  'if-match',
  'last-event-id',
  // Dev mode's caller header, and App Service's principal headers for testing AUTH_MODE=appservice locally
  // (in Azure the platform sets these itself and CORS never sees them).
  'x-user-id',
  'x-ms-client-principal',
  'x-ms-client-principal-id',
  'x-ms-client-principal-idp',
].join(', ');

/** Response headers a browser app may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = 'ETag, Location, Retry-After, WWW-Authenticate, Allow';

/** How long a browser may cache a preflight answer (Chromium caps it at 2 h). */
const MAX_AGE_SECONDS = '600';

/** What the host does with one request under a {@link CorsPolicy}. */
export type CorsDecision =
  /** Not a CORS request, or CORS is off: serve it as it is. */
  | { readonly kind: 'none' }
  /** A preflight from an allowed origin: answer 204 with these headers. */
  | { readonly kind: 'preflight'; readonly headers: Record<string, string> }
  /** A preflight from an origin that is not allowed: refuse it, with no CORS headers. */
  | { readonly kind: 'preflight_refused'; readonly origin: string }
  /** An actual request: serve it, adding these headers to whatever answers it (none for a refused origin). */
  | { readonly kind: 'actual'; readonly headers: Record<string, string> };

/**
 * Cross-origin access for browser apps calling the local host (`CORS_ALLOWED_ORIGINS`), as the platform's
 * CORS setting does in Azure. No credentials mode: callers identify themselves with headers, never cookies.
 */
export class CorsPolicy {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;

  /** @param allowedOrigins exact origins (`https://app.example.com`), or `*` for any; empty turns CORS off. */
  constructor(allowedOrigins: readonly string[]) {
    this.#any = allowedOrigins.includes('*');
    // Origins compare case-insensitively in scheme and host; browsers send them lower-case.
    this.#origins = new Set(allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  }

  /** True when any origin is allowed at all. */
  get enabled(): boolean {
    return this.#any || this.#origins.size > 0;
  }

  /**
   * Classifies a request. `methods` are the methods registered for the request's path, or undefined
   * when no route matches it (a preflight there gets the host's 404, like any unknown route).
   */
  decide(req: IncomingMessage, methods: readonly string[] | undefined): CorsDecision {
    if (!this.enabled) return { kind: 'none' };
    const origin = single(req.headers.origin);
    const requestedMethod = single(req.headers['access-control-request-method']);
    const vary: Record<string, string> = this.#any ? {} : { vary: 'Origin' };
    if (req.method === 'OPTIONS' && origin !== undefined && requestedMethod !== undefined && methods !== undefined) {
      const allowOrigin = this.#allowOrigin(origin);
      if (allowOrigin === undefined) return { kind: 'preflight_refused', origin };
      return {
        kind: 'preflight',
        headers: {
          'access-control-allow-origin': allowOrigin,
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': MAX_AGE_SECONDS,
          ...vary,
        },
      };
    }
    const allowOrigin = origin === undefined ? undefined : this.#allowOrigin(origin);
    if (allowOrigin === undefined) return { kind: 'actual', headers: vary };
    return {
      kind: 'actual',
      headers: { 'access-control-allow-origin': allowOrigin, 'access-control-expose-headers': EXPOSED_HEADERS, ...vary },
    };
  }

  /** `*` when any origin is allowed (cacheable, and fine without credentials), else the origin when listed. */
  #allowOrigin(origin: string): string | undefined {
    if (this.#any) return '*';
    return this.#origins.has(origin.toLowerCase()) ? origin : undefined;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined || one === '' ? undefined : one;
}
