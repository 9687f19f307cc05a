import { describe, expect, it } from 'vitest';
import { describeHttpFunctions, loadFunctionsApp } from '../../local/host/index.js';

/**
 * Core Tools cannot run on this machine, so this is what proves the wiring `func start` would see:
 * the app's own function files, loaded through the `@azure/functions-core` stand-in. Every route of
 * the HTTP contract (shared/api.md) must be here, behind the host's `api` prefix.
 */
describe('the app as the Functions host would list it', () => {
  it('registers every route of the contract, the catch-all that answers the rest, and nothing else', async () => {
    const app = await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' });

    expect(describeHttpFunctions(app)).toEqual([
      { name: 'createConversation', route: 'conversations', methods: ['POST'], authLevel: 'anonymous' },
      { name: 'deleteConversation', route: 'conversations/{conversationId}', methods: ['DELETE'], authLevel: 'anonymous' },
      {
        name: 'deleteMessageFeedback', route: 'conversations/{conversationId}/messages/{messageId}/feedback', methods: ['DELETE'], authLevel: 'anonymous',
      },
      { name: 'exportConversation', route: 'conversations/{conversationId}/export', methods: ['GET'], authLevel: 'anonymous' },
      {
        name: 'fallback', route: '{*path}', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'], authLevel: 'anonymous',
      },
      { name: 'getConversation', route: 'conversations/{conversationId}', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'getMessage', route: 'conversations/{conversationId}/messages/{messageId}', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'getModel', route: 'model', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'getUsage', route: 'usage', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'listConversations', route: 'conversations', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'listMessages', route: 'conversations/{conversationId}/messages', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'postMessage', route: 'conversations/{conversationId}/messages', methods: ['POST'], authLevel: 'anonymous' },
      {
        name: 'putMessageFeedback', route: 'conversations/{conversationId}/messages/{messageId}/feedback', methods: ['PUT'], authLevel: 'anonymous',
      },
      { name: 'regenerateMessage', route: 'conversations/{conversationId}/messages/{messageId}/regenerate', methods: ['POST'], authLevel: 'anonymous' },
      { name: 'stopMessage', route: 'conversations/{conversationId}/messages/{messageId}/stop', methods: ['POST'], authLevel: 'anonymous' },
      { name: 'streamMessage', route: 'conversations/{conversationId}/messages/{messageId}/stream', methods: ['GET'], authLevel: 'anonymous' },
      { name: 'updateConversation', route: 'conversations/{conversationId}', methods: ['PATCH'], authLevel: 'anonymous' },
    ]);
    // Timer-triggered: registered with the host in Azure, not served by the local HTTP host.
    expect(app.otherFunctions).toEqual(['sweepDeletedConversations']);
  });
});
