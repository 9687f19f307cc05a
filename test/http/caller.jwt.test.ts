import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSPKI } from 'jose';
import { UnauthorizedError } from '../../src/chat/errors.js';
import { BearerUnauthorizedError, createCallerResolver, type AuthLog, type CallerResolver } from '../../src/http/caller.js';
import { makeTestKey, signToken, startJwksServer, type JwksServer, type TestKey } from '../support/jwksServer.js';

const ISSUER = 'https://login.example.test/tenant/v2.0';
const AUDIENCE = 'api://chat-backend';
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let server: JwksServer;
let key1: TestKey;
let key2: TestKey;
let impostor: TestKey;

beforeAll(async () => {
  key1 = await makeTestKey('key-1');
  key2 = await makeTestKey('key-2', 'ES256');
  impostor = await makeTestKey('key-1'); // same kid as key1, different key
  server = await startJwksServer([key1]);
});
afterAll(async () => {
  await server.close();
});

const auth = () => ({ mode: 'jwt' as const, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, jwtJwksUri: server.uri, appServiceAuthOff: false });
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: AUDIENCE, sub: 'subject-1', oid: 'object-1', iat: now(), exp: now() + 600, ...extra });
const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` });

async function refused(resolver: CallerResolver, headers: Headers, log?: AuthLog): Promise<BearerUnauthorizedError> {
  const error: unknown = await resolver.resolve(headers, log).then(
    (caller) => caller,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BearerUnauthorizedError);
  expect(error).toBeInstanceOf(UnauthorizedError);
  return error as BearerUnauthorizedError;
}

describe('AUTH_MODE=jwt', () => {
  it('acts for the oid of a valid token, else its sub', async () => {
    const resolver = createCallerResolver(auth());
    await expect(resolver.resolve(bearer(await signToken(key1, claims())))).resolves.toEqual({ userId: 'object-1' });
    await expect(resolver.resolve(bearer(await signToken(key1, claims({ oid: undefined }))))).resolves.toEqual({ userId: 'subject-1' });
    await expect(resolver.resolve(new Headers({ authorization: `bearer  ${await signToken(key1, claims())}` }))).resolves.toEqual({ userId: 'object-1' });
  });

  it('answers a missing token with a plain Bearer challenge', async () => {
    const error = await refused(createCallerResolver(auth()), new Headers());
    expect(error.challenge).toBe('Bearer');
    expect(error.code).toBe('unauthorized');
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
    ['two tokens', 'Bearer a.b.c, Bearer d.e.f'],
    ['an oversized header', `Bearer ${'a'.repeat(17_000)}`],
  ])('refuses a malformed Authorization header (%s) with invalid_token', async (_name, value) => {
    const error = await refused(createCallerResolver(auth()), new Headers({ authorization: value }));
    expect(error.challenge).toBe('Bearer error="invalid_token"');
  });

  it.each([
    ['expired', () => claims({ exp: now() - 600 })],
    ['not yet valid (nbf)', () => claims({ nbf: now() + 600 })],
    ['wrong audience', () => claims({ aud: 'api://someone-else' })],
    ['wrong issuer', () => claims({ iss: 'https://evil.example.test/' })],
    ['without exp', () => claims({ exp: undefined })],
    ['without oid or sub', () => claims({ oid: undefined, sub: undefined })],
    ['with a non-string oid', () => claims({ oid: 42 })],
    ['with an oid of control characters', () => claims({ oid: 'a\u0000b' })],
  ])('refuses a token that is %s', async (_name, make) => {
    const resolver = createCallerResolver(auth());
    await refused(resolver, bearer(await signToken(key1, make())));
  });

  it('allows a minute of clock skew on exp and nbf', async () => {
    const resolver = createCallerResolver(auth());
    await expect(resolver.resolve(bearer(await signToken(key1, claims({ exp: now() - 20, nbf: now() + 20 }))))).resolves.toEqual({
      userId: 'object-1',
    });
  });

  it('refuses a token signed by another key under a published kid', async () => {
    await refused(createCallerResolver(auth()), bearer(await signToken(impostor, claims())));
  });

  it('refuses a tampered payload', async () => {
    const [header, , signature] = (await signToken(key1, claims())).split('.');
    await refused(createCallerResolver(auth()), bearer(`${header}.${b64url(claims({ oid: 'someone-else' }))}.${signature}`));
  });

  it('refuses an unsigned alg:none token', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT', kid: 'key-1' })}.${b64url(claims())}.`;
    await refused(createCallerResolver(auth()), bearer(token));
  });

  it('refuses an HS256 token keyed with the RSA public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(key1.publicKey);
    const head = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'key-1' })}.${b64url(claims())}`;
    for (const secret of [pem, JSON.stringify(key1.publicJwk)]) {
      const token = `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
      await refused(createCallerResolver(auth()), bearer(token));
    }
  });

  it('fetches the key set again for an unknown kid once the cooldown allows (key rotation)', async () => {
    server.publish([key1]);
    const resolver = createCallerResolver(auth(), { jwksCooldownMs: 0 });
    await expect(resolver.resolve(bearer(await signToken(key1, claims())))).resolves.toEqual({ userId: 'object-1' });
    const before = server.fetches;
    server.publish([key1, key2]);
    await expect(resolver.resolve(bearer(await signToken(key2, claims({ oid: 'object-2' }))))).resolves.toEqual({ userId: 'object-2' });
    expect(server.fetches).toBe(before + 1);
    // A known kid is served from the cache.
    await resolver.resolve(bearer(await signToken(key1, claims())));
    expect(server.fetches).toBe(before + 1);
  });

  it('does not refetch the key set for every unknown kid within the cooldown', async () => {
    server.publish([key1]);
    const resolver = createCallerResolver(auth()); // default 30 s cooldown
    await resolver.resolve(bearer(await signToken(key1, claims())));
    const before = server.fetches;
    for (let i = 0; i < 5; i += 1) {
      await refused(resolver, bearer(await signToken(key2, claims(), { kid: `made-up-${i}` })));
    }
    expect(server.fetches).toBe(before);
  });

  it('gives the same generic detail whatever failed, and never logs the token', async () => {
    const lines: string[] = [];
    const log: AuthLog = { debug: (m) => lines.push(m), warn: (m) => lines.push(m) };
    const resolver = createCallerResolver(auth());
    const expiredToken = await signToken(key1, claims({ exp: now() - 600 }));
    const forgedToken = await signToken(impostor, claims());
    const expired = await refused(resolver, bearer(expiredToken), log);
    const forged = await refused(resolver, bearer(forgedToken), log);
    expect(expired.message).toBe(forged.message);
    expect(expired.extra).toEqual({});
    expect(lines).toHaveLength(2);
    expect(lines[0]).not.toBe(lines[1]);
    for (const line of lines) {
      for (const part of [...expiredToken.split('.'), ...forgedToken.split('.')]) expect(line).not.toContain(part);
    }
  });

  it('refuses tokens while the key set is unreachable, and says so in the log', async () => {
    const lines: string[] = [];
    const log: AuthLog = { debug: () => undefined, warn: (m) => lines.push(m) };
    const down = await startJwksServer([key1]);
    const uri = down.uri;
    await down.close();
    const resolver = createCallerResolver({ ...auth(), jwtJwksUri: uri });
    await refused(resolver, bearer(await signToken(key1, claims())), log);
    expect(lines.join('\n')).toContain('key set unavailable');
  });

  it('refuses to build without issuer, audience and key set', () => {
    expect(() => createCallerResolver({ ...auth(), jwtAudience: undefined })).toThrow(/JWT_AUDIENCE/);
  });
});
