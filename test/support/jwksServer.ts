import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key made for a test, with the public half as a JWK carrying its `kid` and `alg`. */
export interface TestKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Makes an extractable key pair for `alg` (RS256 by default) under `kid`. */
export async function makeTestKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/** Signs `claims` with `key`, with the key's `kid` and `alg` in the header unless `header` overrides them. */
export async function signToken(
  key: TestKey,
  claims: JWTPayload,
  header: { kid?: string; alg?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: header.alg ?? key.alg, kid: header.kid ?? key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/** A JWKS endpoint on 127.0.0.1 whose key list a test can change, counting the fetches it serves. */
export interface JwksServer {
  readonly uri: string;
  /** Key set fetches served so far. */
  readonly fetches: number;
  /** Replaces the published keys (a rotation). */
  publish(keys: readonly TestKey[]): void;
  close(): Promise<void>;
}

/** Starts a JWKS server publishing `keys` at `/keys` on an ephemeral port of 127.0.0.1. */
export async function startJwksServer(keys: readonly TestKey[]): Promise<JwksServer> {
  let published = keys;
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    if (request.url !== '/keys') {
      response.writeHead(404).end();
      return;
    }
    fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/keys`,
    get fetches() {
      return fetches;
    },
    publish(next) {
      published = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
