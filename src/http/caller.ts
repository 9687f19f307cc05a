import type { Config } from '../config.js';
import { appServiceCaller } from './auth/appServiceCaller.js';
import { createJwtCaller, type JwtOptions } from './auth/createJwtCaller.js';
import { devCaller } from './auth/devCaller.js';
import type { AuthLog, HeaderGetter } from './auth/HeaderGetter.js';

export type { AuthLog, HeaderGetter } from './auth/HeaderGetter.js';
export { BearerUnauthorizedError } from './auth/BearerUnauthorizedError.js';

/** The user a request acts for, resolved once at the edge; the core and the store never read headers. */
export interface Caller {
  readonly userId: string;
}

/** Finds the caller of one request, or throws an `UnauthorizedError` (a `BearerUnauthorizedError` in jwt mode). */
export interface CallerResolver {
  resolve(headers: HeaderGetter, log?: AuthLog): Promise<Caller>;
}

/** Test and tuning knobs; production uses the defaults. */
export type CallerResolverOptions = JwtOptions;

/**
 * Builds the caller lookup for the configured `AUTH_MODE` (contract: api.md, Identity). Create it
 * once per process: in jwt mode it holds the key set cache. Pass the invocation's context as `log`
 * to record why a caller was refused (debug level; tokens and principal headers are never logged).
 */
export function createCallerResolver(auth: Config['auth'], options: CallerResolverOptions = {}): CallerResolver {
  switch (auth.mode) {
    case 'appservice':
      return { resolve: (headers, log) => Promise.resolve().then(() => ({ userId: appServiceCaller(headers, log) })) };
    case 'dev':
      return { resolve: (headers, log) => Promise.resolve().then(() => ({ userId: devCaller(headers, log) })) };
    case 'jwt': {
      const { jwtIssuer: issuer, jwtAudience: audience, jwtJwksUri: jwksUri } = auth;
      if (!issuer || !audience || !jwksUri) throw new Error('AUTH_MODE=jwt needs JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URI');
      const jwtCaller = createJwtCaller({ issuer, audience, jwksUri }, options);
      return { resolve: async (headers, log) => ({ userId: await jwtCaller(headers, log) }) };
    }
  }
}
