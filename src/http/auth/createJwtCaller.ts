import type { JWTVerifyGetKey } from 'jose';
import { BearerUnauthorizedError } from './BearerUnauthorizedError.js';
import type { AuthLog, HeaderGetter } from './HeaderGetter.js';
import { isValidUserId } from './isValidUserId.js';

/**
 * Signature algorithms accepted: asymmetric only. No `none`, and no HS*: with a shared-secret
 * algorithm allowed, a token "signed" with the public key as the HMAC secret would verify.
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

/** Largest `Authorization` header looked at; bigger ones are refused before any parsing. */
export const MAX_AUTHORIZATION_HEADER_CHARS = 16 * 1024;

/** What `AUTH_MODE=jwt` checks a token against. */
export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
}

/** Tuning of the key set cache and clock checks; the defaults suit production. */
export interface JwtOptions {
  /** Allowed clock skew for `exp` and `nbf`, in seconds. Default 60. */
  readonly clockToleranceSeconds?: number;
  /** Minimum time between two key set fetches caused by unknown `kid`s. Default 30 000 (jose's). */
  readonly jwksCooldownMs?: number;
  /** Age after which the key set is fetched again before use. Default 600 000 (jose's). */
  readonly jwksCacheMaxAgeMs?: number;
  /** Time allowed for one key set fetch. Default 5 000. */
  readonly jwksTimeoutMs?: number;
}

/** jose codes for a key set that could not be fetched or read (errors without a code are network failures). */
const KEY_SET_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

/**
 * Builds the `AUTH_MODE=jwt` caller lookup: verifies `Authorization: Bearer <token>` (signature
 * against `jwksUri`'s keys, `iss`, `aud`, `exp` required, `nbf` when present) and returns `oid`,
 * else `sub`. jose is imported on first use so other modes do not load it at cold start. Keys are
 * cached and fetched again on an unknown `kid`, at most once per cooldown (a flood of made-up
 * `kid`s cannot hammer the identity provider). Every refusal is a `BearerUnauthorizedError` whose
 * detail does not say which check failed; the reason goes to `log.debug`, without the token.
 */
export function createJwtCaller(settings: JwtSettings, options: JwtOptions = {}): (headers: HeaderGetter, log?: AuthLog) => Promise<string> {
  let jose: Promise<{ verify: (token: string) => Promise<Record<string, unknown>> }> | undefined;

  const load = async (): Promise<{ verify: (token: string) => Promise<Record<string, unknown>> }> => {
    const { createRemoteJWKSet, jwtVerify } = await import('jose');
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUri), {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      timeoutDuration: options.jwksTimeoutMs ?? 5_000,
    });
    return {
      verify: async (token) => {
        const { payload } = await jwtVerify(token, keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: [...JWT_ALGORITHMS],
          clockTolerance: options.clockToleranceSeconds ?? 60,
          requiredClaims: ['exp'],
        });
        return payload;
      },
    };
  };

  return async (headers, log) => {
    const authorization = headers.get('authorization');
    if (authorization === null || authorization.trim() === '') {
      log?.debug('caller refused: no Authorization header');
      throw new BearerUnauthorizedError(false);
    }
    const match = authorization.length <= MAX_AUTHORIZATION_HEADER_CHARS ? BEARER.exec(authorization) : null;
    if (!match?.[1]) {
      log?.debug('caller refused: Authorization is not a Bearer token of a sane size');
      throw new BearerUnauthorizedError(true);
    }
    let payload: Record<string, unknown>;
    try {
      jose ??= load();
      payload = await (await jose).verify(match[1]);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const reason = `${typeof code === 'string' ? code : (error as Error).name}: ${(error as Error).message}`;
      // A key set that cannot be fetched is an operations problem, not a bad client: say so louder.
      if (typeof code !== 'string' || KEY_SET_FAILURES.has(code)) log?.warn(`caller refused: key set unavailable (${reason})`);
      else log?.debug(`caller refused: ${reason}`);
      throw new BearerUnauthorizedError(true);
    }
    const id = payload.oid !== undefined ? payload.oid : payload.sub;
    if (!isValidUserId(id)) {
      log?.debug('caller refused: token has no valid oid or sub');
      throw new BearerUnauthorizedError(true);
    }
    return id;
  };
}
