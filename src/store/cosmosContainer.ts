import { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { Container, CosmosClientOptions, IndexingPolicy } from '@azure/cosmos';
import { CHAT_CONTAINER } from './cosmosSchema.js';

export interface CosmosConnection {
  readonly endpoint: string;
  readonly key?: string | undefined;
  readonly credential?: TokenCredential | undefined;
  readonly database: string;
}

/** Loopback endpoints are the embedded store or an emulator: self-signed certificates, and we may create containers. */
export function isLocalEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/**
 * Builds the process's one Cosmos client and returns the chat container. Only a local endpoint gets the database
 * and container created here (and its self-signed certificate trusted, for this client alone); in Azure the
 * templates create them, since data-plane roles cannot.
 */
export async function openChatContainer(connection: CosmosConnection): Promise<Container> {
  const { CosmosClient } = await import('@azure/cosmos');
  const local = isLocalEndpoint(connection.endpoint);
  const options: CosmosClientOptions = {
    endpoint: connection.endpoint,
    connectionPolicy: {
      enableEndpointDiscovery: !local,
      requestTimeout: 10_000,
      retryOptions: { maxRetryAttemptCount: 3, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 10 },
    },
    userAgentSuffix: 'phi-chat-backend',
  };
  if (connection.key) options.key = connection.key;
  else if (connection.credential) options.aadCredentials = connection.credential;
  // A local store answers one request at a time, so more connections add nothing but TLS handshakes; capped and all
  // kept, none is closed and opened again under load (Node keeps 256 free by default and closes the rest).
  if (local) options.agent = new Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  const client = new CosmosClient(options);
  const database = client.database(connection.database);
  if (local) {
    await client.databases.createIfNotExists({ id: connection.database });
    await database.containers.createIfNotExists({
      id: CHAT_CONTAINER.id,
      partitionKey: { paths: [CHAT_CONTAINER.partitionKeyPath] },
      indexingPolicy: structuredClone(CHAT_CONTAINER.indexingPolicy) as unknown as IndexingPolicy,
      defaultTtl: CHAT_CONTAINER.defaultTtl,
    });
  }
  return database.container(CHAT_CONTAINER.id);
}
