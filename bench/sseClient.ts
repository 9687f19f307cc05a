import { Agent, request } from 'node:http';
import { sseSplitter } from '../tools/sseEvents.js';
import { nowAbs } from './stats.js';

/** One SSE event as the client read it, with when its last byte arrived (`nowAbs()`). */
export interface ReadEvent {
  readonly event: string;
  readonly data: string;
  readonly at: number;
}

/** A streamed response read to its end. */
export interface StreamResult {
  readonly status: number;
  readonly sentAt: number;
  readonly events: ReadEvent[];
}

/** One keep-alive agent for every benchmark client, as a browser or app would keep its connections. */
export const clientAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, timeout: 4_000 });

/**
 * POSTs JSON and reads the response as server-sent events, timestamping each event when the chunk completing it
 * arrives: the stamp is taken before the chunk is parsed, so parsing adds nothing to what is measured.
 */
export function postSse(url: string, body: unknown, headers: Record<string, string> = {}): Promise<StreamResult> {
  return retryStale(() => postSseOnce(url, body, headers));
}

/**
 * A kept-alive socket the server closed while idle fails the next request before any response ("socket hang up"):
 * sent again once on a fresh socket. Turns carry an Idempotency-Key, so a repeat cannot start a second turn.
 */
async function retryStale<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if ((error as { code?: string }).code !== 'ECONNRESET') throw error;
    return run();
  }
}

function postSseOnce(url: string, body: unknown, headers: Record<string, string>): Promise<StreamResult> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sentAt = nowAbs();
    const req = request(url, {
      method: 'POST', agent: clientAgent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(payload), ...headers },
    }, (res) => {
      const events: ReadEvent[] = [];
      let at = 0;
      // Only a stream is parsed: a refusal (JSON problem) resolves with its status and no events, for the caller to report.
      const stream = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      const splitter = sseSplitter((item) => {
        if (item.type === 'event') events.push({ event: item.event ?? 'message', data: item.data, at });
      });
      res.setEncoding('utf8');
      const fail = (error: unknown): void => {
        res.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      res.on('data', (chunk: string) => {
        at = nowAbs();
        try {
          if (stream) splitter.feed(chunk);
        } catch (error) {
          fail(error);
        }
      });
      res.on('end', () => {
        try {
          if (stream) splitter.end();
          resolve({ status: res.statusCode ?? 0, sentAt, events });
        } catch (error) {
          fail(error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** POSTs JSON and returns the parsed JSON answer. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return retryStale(() => postJsonOnce(url, body, headers));
}

function postJsonOnce(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', agent: clientAgent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
