import type * as Schemas from './schemas.js';

/** The request schemas module (zod), as the route files use it. */
export type RequestSchemas = typeof Schemas;

let loaded: Promise<RequestSchemas> | undefined;

/**
 * The request schemas, loaded on the first request that needs them: importing zod and building the schemas costs
 * ~200 ms, which registering the functions at cold start does not need.
 */
export function requestSchemas(): Promise<RequestSchemas> {
  return (loaded ??= import('./schemas.js'));
}
