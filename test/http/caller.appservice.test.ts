import { describe, expect, it } from 'vitest';
import { HttpRequest } from '@azure/functions';
import { UnauthorizedError } from '../../src/chat/errors.js';
import { createCallerResolver, type AuthLog } from '../../src/http/caller.js';
import { MAX_PRINCIPAL_HEADER_CHARS } from '../../src/http/auth/appServiceCaller.js';

const resolver = createCallerResolver({ mode: 'appservice', jwtIssuer: undefined, jwtAudience: undefined, jwtJwksUri: undefined, appServiceAuthOff: false });
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

const swaPrincipal = { identityProvider: 'github', userId: 'abcd12345abcd012345abcdef0123450', userDetails: 'octo', userRoles: ['anonymous', 'authenticated'] };
const appServicePrincipal = {
  auth_typ: 'aad',
  claims: [
    { typ: 'name', val: 'Jane Doe' },
    { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier', val: 'name-id-1' },
    { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: '7f0e3c1a-0000-4000-8000-000000000001' },
  ],
  name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
};

/** A header getter that, unlike `Headers`, lets a test pass characters above U+00FF. */
const rawHeaders = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });

async function refusal(headers: Record<string, string>): Promise<UnauthorizedError> {
  const error: unknown = await resolver.resolve(rawHeaders(headers)).then(
    (caller) => caller,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  return error as UnauthorizedError;
}

describe('AUTH_MODE=appservice', () => {
  it('takes userId from a Static Web Apps principal, scoped by its provider', async () => {
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': b64(swaPrincipal) }))).resolves.toEqual({ userId: `github:${swaPrincipal.userId}` });
  });

  it("takes the object id claim from an App Service principal, whatever the claims' order", async () => {
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': b64(appServicePrincipal) }))).resolves.toEqual({
      userId: '7f0e3c1a-0000-4000-8000-000000000001',
    });
  });

  it('falls back from the object id claim to oid, nameidentifier, then sub', async () => {
    const withClaims = (claims: { typ: string; val: string }[]) => new Headers({ 'x-ms-client-principal': b64({ auth_typ: 'aad', claims }) });
    await expect(resolver.resolve(withClaims([{ typ: 'sub', val: 's' }, { typ: 'oid', val: 'o' }]))).resolves.toEqual({ userId: 'o' });
    await expect(
      resolver.resolve(withClaims([{ typ: 'sub', val: 's' }, { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier', val: 'n' }])),
    ).resolves.toEqual({ userId: 'n' });
    await expect(resolver.resolve(withClaims([{ typ: 'sub', val: 's' }]))).resolves.toEqual({ userId: 's' });
  });

  it('accepts the id header alone', async () => {
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal-id': 'user-42' }))).resolves.toEqual({ userId: 'user-42' });
  });

  it("prefers the principal's userId to the id header, and the id header to the principal's claims", async () => {
    await expect(
      resolver.resolve(new Headers({ 'x-ms-client-principal': b64(swaPrincipal), 'x-ms-client-principal-id': 'other' })),
    ).resolves.toEqual({ userId: `github:${swaPrincipal.userId}` });
    await expect(
      resolver.resolve(new Headers({ 'x-ms-client-principal': b64(appServicePrincipal), 'x-ms-client-principal-id': 'platform-id' })),
    ).resolves.toEqual({ userId: 'platform-id' });
  });

  it('reads the headers of an @azure/functions HttpRequest', async () => {
    const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/conversations', headers: { 'X-MS-CLIENT-PRINCIPAL': b64(swaPrincipal) } });
    await expect(resolver.resolve(request.headers)).resolves.toEqual({ userId: `github:${swaPrincipal.userId}` });
  });

  it('keeps Entra ids as they are and prefixes every other provider, so equal ids of two providers stay two users', async () => {
    const claims = (auth_typ: string) => b64({ auth_typ, claims: [{ typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier', val: '12345' }] });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': claims('aad') }))).resolves.toEqual({ userId: '12345' });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': claims('AAD') }))).resolves.toEqual({ userId: '12345' });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': claims('github') }))).resolves.toEqual({ userId: 'github:12345' });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': claims('Google') }))).resolves.toEqual({ userId: 'google:12345' });
    // The id header alone takes the provider from x-ms-client-principal-idp, which App Service sends beside it.
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal-id': '12345', 'x-ms-client-principal-idp': 'github' }))).resolves.toEqual({
      userId: 'github:12345',
    });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal-id': '12345', 'x-ms-client-principal-idp': 'aad' }))).resolves.toEqual({ userId: '12345' });
    // The principal's own provider wins over the idp header.
    await expect(
      resolver.resolve(new Headers({ 'x-ms-client-principal': claims('twitter'), 'x-ms-client-principal-idp': 'aad' })),
    ).resolves.toEqual({ userId: 'twitter:12345' });
  });

  it('refuses a provider name that is not a name, and a scoped id over the length bound', async () => {
    await refusal({ 'x-ms-client-principal-id': 'u1', 'x-ms-client-principal-idp': 'git hub' });
    await refusal({ 'x-ms-client-principal-id': 'u1', 'x-ms-client-principal-idp': 'a:b' });
    await refusal({ 'x-ms-client-principal': b64({ ...swaPrincipal, identityProvider: 7 }) });
    await refusal({ 'x-ms-client-principal-id': 'x'.repeat(128), 'x-ms-client-principal-idp': 'github' });
  });

  it.each([
    ['the id header with no provider', { 'x-ms-client-principal-id': 'github:123' }],
    ['the id header as Entra ID', { 'x-ms-client-principal-id': 'github:123', 'x-ms-client-principal-idp': 'aad' }],
    ['an SWA principal from Entra ID', { 'x-ms-client-principal': b64({ ...swaPrincipal, identityProvider: 'aad', userId: 'github:123' }) }],
    ['an App Service principal from Entra ID', { 'x-ms-client-principal': b64({ auth_typ: 'aad', claims: [{ typ: 'oid', val: 'github:123' }] }) }],
    ['an SWA principal with no provider', { 'x-ms-client-principal': b64({ userId: 'google:123' }) }],
  ])("refuses an Entra ID (or unnamed provider) id with ':', which would be another provider's user (%s)", async (_name, headers) => {
    await refusal(headers);
  });

  it("keeps ':' in other providers' ids: their prefix tells them apart", async () => {
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal-id': 'a:b', 'x-ms-client-principal-idp': 'github' }))).resolves.toEqual({ userId: 'github:a:b' });
  });

  it('refuses a request with neither header, with no fallback user', async () => {
    const error = await refusal({});
    expect(error.code).toBe('unauthorized');
  });

  it.each([
    ['garbage base64', '!!not base64!!'],
    ['base64 with a stray character', `${b64(swaPrincipal).slice(0, 8)}*${b64(swaPrincipal).slice(8)}`],
    ['base64 of text that is not JSON', Buffer.from('hello world').toString('base64')],
    ['base64 of bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64')],
    ['a JSON array', b64([swaPrincipal])],
    ['a JSON string', b64('user-1')],
    ['JSON null', b64(null)],
    ['a numeric userId', b64({ ...swaPrincipal, userId: 12345 })],
    ['an empty userId', b64({ ...swaPrincipal, userId: '' })],
    ['claims that are not an array', b64({ auth_typ: 'aad', claims: { typ: 'oid', val: 'o' } })],
    ['an id claim whose value is not a string', b64({ auth_typ: 'aad', claims: [{ typ: 'oid', val: 10000 }] })],
    ['a header over the size bound', 'A'.repeat(MAX_PRINCIPAL_HEADER_CHARS + 4)],
  ])('refuses a present but undecodable principal (%s) even when the id header is there', async (_name, principal) => {
    await refusal({ 'x-ms-client-principal': principal, 'x-ms-client-principal-id': 'fallback-user' });
  });

  it('refuses a principal that decodes but carries no usable id, when there is no id header', async () => {
    await refusal({ 'x-ms-client-principal': b64({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'Jane' }] }) });
    await refusal({ 'x-ms-client-principal': b64({}) });
  });

  it('refuses an id header that is not a printable id', async () => {
    await refusal({ 'x-ms-client-principal-id': 'a\u200bb' });
    await refusal({ 'x-ms-client-principal-id': 'a\tb' });
    await refusal({ 'x-ms-client-principal-id': 'a\u0085b' });
    await refusal({ 'x-ms-client-principal-id': ' padded' });
    await refusal({ 'x-ms-client-principal-id': 'x'.repeat(129) });
  });

  it('believes no header at all when App Service authentication is off in Azure, and says how to fix it', async () => {
    const off = createCallerResolver({ mode: 'appservice', jwtIssuer: undefined, jwtAudience: undefined, jwtJwksUri: undefined, appServiceAuthOff: true });
    expect(off.unavailable).toMatch(/App Service authentication/);
    expect(resolver.unavailable).toBeUndefined();
    for (const headers of [{ 'x-ms-client-principal': b64(swaPrincipal) }, { 'x-ms-client-principal-id': 'user-42' }, {}] as Record<string, string>[]) {
      const error: unknown = await off.resolve(new Headers(headers)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect((error as UnauthorizedError).message).toMatch(/turn on App Service authentication.*AUTH_MODE=jwt/);
    }
  });

  it('never writes the principal to the log', async () => {
    const lines: string[] = [];
    const log: AuthLog = { debug: (m) => lines.push(m), warn: (m) => lines.push(m) };
    const principal = b64({ auth_typ: 'aad', claims: [{ typ: 'oid', val: 10000 }] });
    await expect(resolver.resolve(new Headers({ 'x-ms-client-principal': principal }), log)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(principal);
  });
});
