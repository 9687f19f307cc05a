/**
 * The one Cosmos DB container the service uses, as the code and the Bicep template must both declare it
 * (test/infra checks that they agree). Conversations, messages, turns and daily usage live side by side,
 * told apart by `type`, partitioned by the caller so every route is a single-partition operation.
 */
export const CHAT_CONTAINER = {
  id: 'conversations',
  partitionKeyPath: '/userId',
  // -1 turns TTL on without a default: only documents with their own `ttl` (idempotency records) expire.
  defaultTtl: -1,
  indexingPolicy: {
    indexingMode: 'consistent',
    automatic: true,
    includedPaths: [{ path: '/*' }],
    // Message bodies are never filtered on: leaving them out of the index cuts write RU for long messages.
    excludedPaths: [{ path: '/content/?' }, { path: '/"_etag"/?' }],
    compositeIndexes: [
      [
        { path: '/type', order: 'ascending' },
        { path: '/updatedAt', order: 'descending' },
      ],
      [
        { path: '/type', order: 'ascending' },
        { path: '/conversationId', order: 'ascending' },
        { path: '/seq', order: 'ascending' },
      ],
      [
        { path: '/type', order: 'ascending' },
        { path: '/conversationId', order: 'ascending' },
        { path: '/seq', order: 'descending' },
      ],
    ],
  },
} as const;
