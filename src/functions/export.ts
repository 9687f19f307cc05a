import { services } from '../app.js';
import { conversationIdOf, forCaller } from '../http/endpoint.js';
import { conversationJson } from '../http/conversationJson.js';
import { conversationMarkdown } from '../http/conversationMarkdown.js';
import { exportFormatOf } from '../http/exportFormat.js';
import { parseWith, queryObject } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';
import { httpRoute } from '../http/routes.js';

const encoder = new TextEncoder();

async function* encoded(chunks: AsyncIterable<string>): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) if (chunk) yield encoder.encode(chunk);
}

/**
 * A conversation as a file: JSON (every branch) or, with `Accept: text/markdown`, the active branch as Markdown. The
 * conversation and the first page are read before the answer starts (their failures are problems); the body then
 * streams a page at a time as the socket takes it. A store failure after that ends the body early: the host resets
 * the connection, so a client never takes a cut export for a whole one.
 */
httpRoute('exportConversation', {
  route: 'conversations/{conversationId}/export',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const id = conversationIdOf(request);
    const { exportQuery } = await requestSchemas();
    parseWith(exportQuery, queryObject(request), 'query string');
    const format = exportFormatOf(request.headers.get('accept'));
    const { conversation, pages } = await s.conversations.export(caller.userId, id, format === 'json' ? 'all' : 'active');
    const now = s.clock.now();
    const [type, extension, body] = format === 'json'
      ? ['application/json', 'json', conversationJson(conversation, pages, now)]
      : ['text/markdown', 'md', conversationMarkdown(conversation.title, pages, now)];
    return {
      status: 200,
      headers: {
        'content-type': `${type}; charset=utf-8`,
        'content-disposition': `attachment; filename="${conversation.id}.${extension}"`,
        'cache-control': 'no-store',
        vary: 'Accept',
      },
      body: encoded(body),
    };
  }),
});
