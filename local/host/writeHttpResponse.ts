import type { ServerResponse } from 'node:http';
import type { HttpResponse } from '@azure/functions';
import { serializeCookie } from './serializeCookie.js';

// Hop-by-hop headers the worker's HTTP proxy refuses to copy from the app's response.
const BLOCKED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

/** How writing went: whether the client was still there at the end. */
export interface WriteOutcome {
  readonly clientGone: boolean;
}

/**
 * Writes an app's `HttpResponse` to a Node response: status, headers, cookies, then the body chunk by
 * chunk as the app produces it, waiting for `drain` when the socket is full. If the client goes away,
 * the body is still read to its end and discarded: in Azure the app cannot see a disconnect, so a turn
 * runs to completion there, and it must here too. A null response is the host's 204.
 * Rejects only when the body stream itself fails (after headers are sent; the socket is then reset).
 */
export async function writeHttpResponse(res: ServerResponse, response: HttpResponse | null): Promise<WriteOutcome> {
  let clientGone = false;
  res.once('close', () => {
    clientGone = !res.writableFinished;
  });

  if (response === null) {
    res.statusCode = 204;
    res.end();
    return { clientGone };
  }

  res.statusCode = response.status;
  const connection = response.headers.get('connection');
  const connectionHeaders = new Set((connection ?? '').split(',').map((h) => h.trim().toLowerCase()));
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie' && !BLOCKED_HEADERS.has(name) && !connectionHeaders.has(name)) {
      res.setHeader(name, value);
    }
  }
  const setCookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (setCookies.length > 0) {
    res.setHeader('set-cookie', setCookies);
  }

  const body = response.body;
  if (body === null) {
    res.end();
    return { clientGone };
  }
  // Send the head now: a stream whose first chunk comes late should still show its status at once.
  res.flushHeaders();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      if (clientGone || res.destroyed) {
        continue;
      }
      if (!res.write(value)) {
        await drainedOrClosed(res);
      }
    }
  } catch (error) {
    // Headers are out, so no problem body can follow: reset the connection so the client sees a failure.
    res.destroy();
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (!res.destroyed) {
    res.end();
  }
  return { clientGone };
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
