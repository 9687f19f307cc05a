/**
 * The one thing identity needs from a request. WHATWG `Headers` and `@azure/functions`'
 * `HttpRequest.headers` both fit, so this module does not depend on the Functions runtime.
 * Names are matched case-insensitively by those implementations.
 */
export interface HeaderGetter {
  get(name: string): string | null;
}

/** Where identity writes why it refused a caller. `InvocationContext` fits. Never given a token. */
export interface AuthLog {
  debug(message: string): void;
  warn(message: string): void;
}
