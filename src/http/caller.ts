import type { Config } from '../config.js';
import { appServiceCaller } from './auth/appServiceCaller.js';
import { createJwtCaller, type JwtOptions } from './auth/createJwtCaller.js';
import { devCaller } from './auth/devCaller.js';
import type { AuthLog, HeaderGetter } from './auth/HeaderGetter.js';
import { UnauthorizedError } from '../chat/errors.js';

export type { AuthLog, HeaderGetter } from './auth/HeaderGetter.js';
export { BearerUnauthorizedError } from './auth/BearerUnauthorizedError.js';

/** The user a request acts for, resolved once at the edge; the core and the store never read headers. */
export interface Caller {
  readonly userId: string;
}

/** Finds the caller of one request, or throws an `UnauthorizedError` (a `BearerUnauthorizedError` in jwt mode). */
export interface CallerResolver {
  resolve(headers: HeaderGetter, log?: AuthLog): Promise<Caller>;
  /** Set when no caller can ever be identified as configured: what is wrong and how to fix it (health reports it). */
  readonly unavailable?: string;
}

/** The 401 detail (and health's) when nothing strips the principal headers: it names every way out. */
export const APP_SERVICE_AUTH_OFF =
  'App Service authentication is off (WEBSITE_AUTH_ENABLED is not True), so the x-ms-client-principal headers could ' +
  'come from anyone and are ignored: turn on App Service authentication for this app, set ' +
  'AUTH_TRUST_PRINCIPAL_HEADERS=true only behind a platform that strips them from outside requests (Container Apps ' +
  'authentication, Static Web Apps), or set AUTH_MODE=jwt with JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URI.';

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
      if (auth.appServiceAuthOff) {
        // Never read the principal headers: every caller is refused, with the fix in the detail.
        return {
          unavailable: APP_SERVICE_AUTH_OFF,
          resolve: (_headers, log) => {
            log?.debug('caller refused: App Service authentication is off');
            return Promise.reject(new UnauthorizedError(APP_SERVICE_AUTH_OFF));
          },
        };
      }
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
