import { UnauthorizedError } from '../../chat/errors.js';
import type { AuthLog, HeaderGetter } from './HeaderGetter.js';
import { isValidUserId } from './isValidUserId.js';

/**
 * Largest `x-ms-client-principal` decoded. App Service puts every claim of the token in it, group
 * claims included (Entra caps those at 200 before switching to an overage claim), so it is bigger
 * than the 16 KiB a token usually needs; anything beyond is refused before base64 or JSON work.
 */
export const MAX_PRINCIPAL_HEADER_CHARS = 32 * 1024;

/** Claim types that carry a stable user id in App Service's principal, best first. */
const ID_CLAIM_TYPES = [
  'http://schemas.microsoft.com/identity/claims/objectidentifier',
  'oid',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier',
  'sub',
] as const;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** An identity provider's name as App Service reports it (`aad`, `github`, `google`, a custom OpenID Connect name). */
const PROVIDER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Microsoft Entra ID: its ids stay as they are, so data stored before providers were told apart stays reachable. */
const ENTRA = 'aad';

/** Why a present principal was refused; a reason for the log, never for the client. */
class BadPrincipal extends Error {}

function decodePrincipal(raw: string): Record<string, unknown> {
  if (raw.length > MAX_PRINCIPAL_HEADER_CHARS) throw new BadPrincipal('header too large');
  const text = raw.trim();
  // Buffer's decoder skips characters outside the alphabet, so garbage would decode to "something".
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new BadPrincipal('not base64');
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    throw new BadPrincipal('not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new BadPrincipal('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadPrincipal('not a JSON object');
  return value as Record<string, unknown>;
}

/** The id carried by the App Service shape `{ auth_typ, claims: [{ typ, val }], name_typ, role_typ }`. */
function idFromClaims(claims: unknown): string | undefined {
  if (claims === undefined) return undefined;
  if (!Array.isArray(claims)) throw new BadPrincipal('claims is not an array');
  for (const type of ID_CLAIM_TYPES) {
    const claim: unknown = claims.find((c: unknown) => typeof c === 'object' && c !== null && (c as { typ?: unknown }).typ === type);
    if (claim === undefined) continue;
    const val = (claim as { val?: unknown }).val;
    if (!isValidUserId(val)) throw new BadPrincipal(`claim ${type} is not a valid id`);
    return val;
  }
  return undefined;
}

/**
 * The provider that vouched for the caller: the principal's `identityProvider` (SWA shape) or `auth_typ` (App
 * Service shape), else the `x-ms-client-principal-idp` header; none at all is taken as Entra ID (App Service always
 * sends one, and ids kept before this existed are Entra ids).
 */
function providerOf(principal: Record<string, unknown> | undefined, idpHeader: string | null): string {
  const named = principal?.identityProvider ?? principal?.auth_typ ?? idpHeader ?? ENTRA;
  if (typeof named !== 'string' || !PROVIDER.test(named)) throw new BadPrincipal('identity provider is not a valid name');
  return named.toLowerCase();
}

/**
 * The stored user id: Entra ids as they are, others prefixed with their provider (`github:12345`), so two providers
 * that issue the same id never share a partition. Real Entra ids have no `:` (object ids are GUIDs, SWA ids hex), and
 * one that has it is refused: `github:12345` sent as an Entra id (or with no provider) would be the GitHub user.
 */
function scopedId(provider: string, id: string): string {
  if (provider === ENTRA) {
    if (id.includes(':')) throw new BadPrincipal('an Entra ID (or unnamed provider) id contains ":"');
    return id;
  }
  const scoped = `${provider}:${id}`;
  if (!isValidUserId(scoped)) throw new BadPrincipal('provider-scoped id is too long');
  return scoped;
}

/**
 * The caller under App Service / Static Web Apps authentication. The platform strips these headers
 * from outside requests and sets them itself, so they are believed only where that platform feature
 * is on (the caller resolver checks `WEBSITE_AUTH_ENABLED`). Order: the principal's `userId` (SWA
 * shape), else the `x-ms-client-principal-id` header, else an id claim of the App Service shape;
 * then scoped by its identity provider. A principal that is present but cannot be read is a 401 even
 * when the id header is there: never a fallback.
 */
export function appServiceCaller(headers: HeaderGetter, log?: AuthLog): string {
  const principalHeader = headers.get('x-ms-client-principal');
  const idHeader = headers.get('x-ms-client-principal-id');
  try {
    const principal = principalHeader === null ? undefined : decodePrincipal(principalHeader);
    let id: string | undefined;
    if (principal?.userId !== undefined) {
      if (!isValidUserId(principal.userId)) throw new BadPrincipal('userId is not a valid id');
      id = principal.userId;
    } else {
      const claimsId = principal === undefined ? undefined : idFromClaims(principal.claims);
      if (idHeader !== null && !isValidUserId(idHeader)) throw new BadPrincipal('x-ms-client-principal-id is not a valid id');
      id = idHeader ?? claimsId;
    }
    if (id !== undefined) return scopedId(providerOf(principal, headers.get('x-ms-client-principal-idp')), id);
  } catch (error) {
    if (!(error instanceof BadPrincipal)) throw error;
    log?.debug(`caller refused: client principal ${error.message}`);
    throw new UnauthorizedError();
  }
  log?.debug(principalHeader === null ? 'caller refused: no client principal' : 'caller refused: client principal has no user id');
  throw new UnauthorizedError(principalHeader === null ? 'The caller is not signed in.' : undefined);
}
