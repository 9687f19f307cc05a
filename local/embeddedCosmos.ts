import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import { scopeQueriesOf } from './partitionScopedQueries.js';
import { keepAccountIn, type CosmosAccount, type KeptAccount } from './keepAccountIn.js';

/** A Cosmos-protocol server in this process, on loopback: in memory, or kept in a data folder. */
export interface EmbeddedCosmos {
  readonly endpoint: string;
  /** Any key works against it; this is the emulator's well-known one. */
  readonly key: string;
  /** Set when the data is kept in a folder: what was found there at start. */
  readonly kept?: Pick<KeptAccount, 'dropped' | 'documents'>;
  close(): Promise<void>;
}

export interface EmbeddedCosmosOptions {
  readonly port?: number;
  /** A folder to keep the data in across runs (keepAccountIn); unset: in memory, gone when the process stops. */
  readonly dataDir?: string;
}

export const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

/**
 * Starts `@vercel/cosmosdb-server` over HTTPS on 127.0.0.1, its queries scoped to the partition they name as Cosmos DB
 * scopes them. Keep-alive is on: without it the server closes every connection and throughput drops about sevenfold.
 */
export async function startEmbeddedCosmos(options: EmbeddedCosmosOptions = {}): Promise<EmbeddedCosmos> {
  const { createHttpsServer } = await import('@vercel/cosmosdb-server');
  const server: Server = createHttpsServer({ keepAlive: true } as Parameters<typeof createHttpsServer>[0]);
  // Node closes a connection idle for 5 s. A turn's store traffic pauses for as long as the model streams, so with
  // that default every turn longer than 5 s opened its connections again (a TLS handshake each, ~1 ms of the
  // client's CPU): 1.2 s of a 100-turn bench run's 17 s.
  server.keepAliveTimeout = 60_000;
  // Queries over the partition they name, not every document: see partitionScopedQueries.
  scopeQueriesOf(server);
  const account = options.dataDir ? accountOf(server) : undefined;
  let kept: KeptAccount | undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      // Still inside the 'listening' event, so before the server reads any request.
      try {
        if (account && options.dataDir) kept = keepAccountIn(account(), options.dataDir);
        resolve();
      } catch (error) {
        server.close();
        reject(error as Error);
      }
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${actual}`,
    key: EMULATOR_KEY,
    ...(kept ? { kept: { dropped: kept.dropped, documents: kept.documents } } : {}),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          kept?.close();
          resolve();
        });
      }),
  };
}

/**
 * The server makes its in-memory `Account` in its own 'listening' listener and hands it to no one. For the length
 * of that one synchronous event the module's export is swapped for a subclass that hands it over here, then put
 * back, so no other server in this process is touched.
 */
function accountOf(server: Server): () => CosmosAccount {
  const require = createRequire(import.meta.url);
  const accounts = require('@vercel/cosmosdb-server/lib/account/index.js') as { default: new (host: string, port: number) => CosmosAccount };
  const Original = accounts.default;
  let captured: CosmosAccount | undefined;
  server.prependListener('listening', () => {
    accounts.default = class extends Original {
      constructor(host: string, port: number) {
        super(host, port);
        captured = this; // eslint-disable-line @typescript-eslint/no-this-alias
      }
    };
  });
  server.on('listening', () => {
    accounts.default = Original;
  });
  return () => {
    if (!captured) throw new Error('@vercel/cosmosdb-server made no Account while starting to listen: its version changed?');
    return captured;
  };
}
