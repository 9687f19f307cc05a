import type { FunctionsRegistry } from './functionsCoreStandIn.js';

/** An HTTP function as the Functions host lists it at start-up. */
export interface HttpFunctionSummary {
  readonly name: string;
  readonly route: string;
  readonly methods: readonly string[];
  readonly authLevel: string;
}

/** The `{ name, route, methods, authLevel }` list of an app's HTTP functions, sorted by name. */
export function describeHttpFunctions(app: FunctionsRegistry): HttpFunctionSummary[] {
  return app.httpFunctions
    .map(({ name, route, methods, authLevel }) => ({ name, route, methods: [...methods], authLevel }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
