// The benchmark's clients in their own process, so reading and parsing the streams costs the service process
// nothing. Times are `nowAbs()`, comparable with the peers' stamps.
import { serve } from './rpc.js';
import { postJson, postSse, type StreamResult } from './sseClient.js';
import { nowAbs } from './stats.js';

/** One POST the client makes. */
export interface Post {
  readonly url: string;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

/** A stream reduced to what throughput needs: how many events matched, without shipping them back. */
export interface StreamCount {
  readonly status: number;
  readonly events: number;
}

function hasContent(data: string): boolean {
  if (data === '[DONE]') return false;
  const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
  return (parsed.choices?.[0]?.delta?.content ?? '') !== '';
}

const countOf = (r: StreamResult, event: string | null): StreamCount => ({
  status: r.status,
  events: r.events.filter((e) => (event === null ? hasContent(e.data) : e.event === event)).length,
});

export const clientHandlers = {
  async json(post: Post): Promise<{ status: number; body: Record<string, unknown> }> {
    return postJson(post.url, post.body, post.headers);
  },
  /** All posts at once; each stream read to its end. */
  async streams(posts: Post[]): Promise<StreamResult[]> {
    return Promise.all(posts.map((p) => postSse(p.url, p.body, p.headers)));
  },
  /** All posts at once, counting events named `event` (chunks with content when null: the model's own stream), and the wall time taken. */
  async counted({ posts, event }: { posts: Post[]; event: string | null }): Promise<{ counts: StreamCount[]; ms: number }> {
    const start = nowAbs();
    const results = await Promise.all(posts.map((p) => postSse(p.url, p.body, p.headers)));
    return { counts: results.map((r) => countOf(r, event)), ms: nowAbs() - start };
  },
};

if (process.send) serve(clientHandlers);
