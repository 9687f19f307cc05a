import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';

/** A Cosmos-protocol server in this process, on loopback, in memory. */
export interface EmbeddedCosmos {
  readonly endpoint: string;
  /** Any key works against it; this is the emulator's well-known one. */
  readonly key: string;
  close(): Promise<void>;
}

export const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/**
 * Starts `@vercel/cosmosdb-server` over HTTPS on 127.0.0.1. Keep-alive is on: without it the server closes every
 * connection and throughput drops about sevenfold.
 */
export async function startEmbeddedCosmos(port = 0): Promise<EmbeddedCosmos> {
  const { createHttpsServer } = await import('@vercel/cosmosdb-server');
  const server: Server = createHttpsServer({ keepAlive: true } as Parameters<typeof createHttpsServer>[0]);
  // Node closes a connection idle for 5 s. A turn's store traffic pauses for as long as the model streams, so with
  // that default every turn longer than 5 s opened its connections again (a TLS handshake each, ~1 ms of the
  // client's CPU): 1.2 s of a 100-turn bench run's 17 s.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${actual}`,
    key: EMULATOR_KEY,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
