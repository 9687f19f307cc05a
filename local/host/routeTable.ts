import type { HttpRegistration } from './HttpRegistration.js';
import { parseRouteTemplate, type RouteTemplate } from './routeTemplate.js';

/** What the route table says about one request. */
export type RouteResolution =
  | { readonly kind: 'match'; readonly registration: HttpRegistration; readonly params: Record<string, string> }
  | { readonly kind: 'method_not_allowed'; readonly allow: readonly string[] }
  | { readonly kind: 'not_found' };

interface Route {
  readonly registration: HttpRegistration;
  readonly template: RouteTemplate;
  readonly order: number;
}

/**
 * The routes of the captured `app.http(...)` registrations behind the host's route prefix, ordered the
 * way ASP.NET Core orders them (literal segments before parameters before catch-alls), so overlapping
 * templates pick the same function locally as in Azure.
 */
export class RouteTable {
  readonly #routes: readonly Route[];
  readonly #prefix: string;

  /** @param routePrefix host.json `extensions.http.routePrefix` (`"api"` by default, `""` for none). */
  constructor(registrations: readonly HttpRegistration[], routePrefix: string) {
    this.#prefix = routePrefix.replace(/^\/+|\/+$/g, '');
    this.#routes = registrations
      .map((registration, order) => ({ registration, template: parseRouteTemplate(registration.route), order }))
      .sort((a, b) => comparePrecedence(a.template.precedence, b.template.precedence) || a.order - b.order);
  }

  /** Finds the function for a method and a raw (still percent-encoded) URL path without its query. */
  resolve(method: string, rawPath: string): RouteResolution {
    const path = this.#stripPrefix(rawPath);
    if (path === null) {
      return { kind: 'not_found' };
    }
    const upper = method.toUpperCase();
    const allow = new Set<string>();
    for (const route of this.#routes) {
      const params = route.template.match(path);
      if (params === null) {
        continue;
      }
      if (route.registration.methods.includes(upper)) {
        return { kind: 'match', registration: route.registration, params };
      }
      route.registration.methods.forEach((m) => allow.add(m));
    }
    return allow.size > 0 ? { kind: 'method_not_allowed', allow: [...allow] } : { kind: 'not_found' };
  }

  #stripPrefix(rawPath: string): string | null {
    const path = rawPath.replace(/^\/+/, '');
    if (this.#prefix === '') {
      return path;
    }
    const head = path.slice(0, this.#prefix.length);
    const rest = path.slice(this.#prefix.length);
    if (head.toLowerCase() !== this.#prefix.toLowerCase() || (rest !== '' && !rest.startsWith('/'))) {
      return null;
    }
    return rest;
  }
}

function comparePrecedence(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) {
      return difference;
    }
  }
  return a.length - b.length;
}
