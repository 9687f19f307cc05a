import { app, type HttpFunctionOptions, type HttpMethod } from '@azure/functions';

interface RouteEntry {
  readonly pattern: RegExp;
  readonly methods: readonly HttpMethod[];
}

const registered: RouteEntry[] = [];

/** `conversations/{conversationId}/messages` → a case-insensitive matcher of one path below the `api` prefix. */
function toPattern(route: string): RegExp {
  const segments = route.split('/').map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}/?$`, 'i');
}

/**
 * Registers an HTTP function with the Functions host and remembers its route and methods, so the fallback can
 * answer a known route with the wrong method 405 (with `Allow`) in Azure too, where the host itself would say 404.
 */
export function httpRoute(name: string, options: HttpFunctionOptions & { route: string; methods: HttpMethod[] }): void {
  registered.push({ pattern: toPattern(options.route), methods: options.methods });
  app.http(name, options);
}

/** The methods the app serves on a path (below the prefix), or none when no route matches it. */
export function methodsFor(path: string): HttpMethod[] {
  const allow = new Set<HttpMethod>();
  for (const entry of registered) if (entry.pattern.test(path)) entry.methods.forEach((m) => allow.add(m));
  return [...allow];
}
