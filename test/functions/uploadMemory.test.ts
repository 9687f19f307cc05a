import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_START, freePort, startBuiltApp } from '../support/builtApp.js';

/**
 * Bodies are bounded while they are read (api.md, "Identity when deployed…"): big chunked uploads, sent in parallel
 * to the app as `npm start` runs it (its own process, so its memory is its own), are answered 401 (no caller: never
 * read) or 413 (read up to MAX_BODY_BYTES), and the process's resident memory hardly moves. Before the fix the same
 * run took the service from ~127 MB to ~657 MB: the local host buffered every body, the app read chunked bodies whole.
 */

const MIB = 1_048_576;
const UPLOAD_BYTES = 80 * MIB;
const PARALLEL = 4;
/** Loose on purpose: a buffering server grows by hundreds of MB here; this is a bound, not a timing. */
const MAX_GROWTH_BYTES = 64 * MIB;

/** A figure of /proc/<pid>/status in bytes: VmRSS (resident now) or VmHWM (the most it was resident). */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no ${field} for ${pid}`);
  return Number(match[1]) * 1024;
}

interface UploadOutcome {
  readonly status: number;
  readonly code: string | undefined;
  /** Bytes the client had written when the answer came (it stops there). */
  readonly sent: number;
}

/**
 * POSTs `total` bytes with Transfer-Encoding: chunked, 64 KiB at a time and only as fast as the socket takes them,
 * and stops writing as soon as the server answers. A connection error after the answer is expected (the server
 * closes a connection whose body it did not read); one before it is a failure.
 */
function upload(url: string, headers: Record<string, string>, total: number): Promise<UploadOutcome> {
  const piece = Buffer.alloc(64 * 1024, 0x61);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(url, {
      // Keep-alive, as browsers send: with "Connection: close" Node's server closes right after its answer and the
      // reset can reach this client before the answer does.
      method: 'POST', agent: false,
      headers: { ...headers, connection: 'keep-alive', 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code, sent });
      });
      res.once('error', () => undefined);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const writeMore = (): void => {
      while (!answered && sent < total) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', writeMore);
          return;
        }
      }
      if (!answered) req.end();
    };
    req.write('{"title":"');
    writeMore();
  });
}

describe('4 parallel 80 MB chunked uploads to the app in its own process', () => {
  let child: ChildProcess | undefined;
  let api = '';

  beforeAll(async () => {
    expect(existsSync(BUILT_START), `${BUILT_START} is missing: run npm run build`).toBe(true);
    const port = await freePort();
    // appservice believes the headers where a platform in front is said to strip them: an authenticated caller.
    ({ child } = await startBuiltApp({ PORT: String(port), AUTH_MODE: 'appservice', AUTH_TRUST_PRINCIPAL_HEADERS: 'true' }));
    api = `http://127.0.0.1:${port}/api`;
  });
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('answers 401 (unauthenticated) and 413 (authenticated), and the service stays within 64 MB of where it was', async () => {
    const pid = child!.pid!;
    const signedIn = { 'x-ms-client-principal-id': 'uploader' };
    // Warm up both paths once (lazy modules, the store's first round trip), then measure.
    await upload(`${api}/conversations`, {}, MIB);
    await upload(`${api}/conversations`, signedIn, 2 * MIB);
    const before = memory(pid, 'VmRSS');
    const peakBefore = memory(pid, 'VmHWM');

    const outcomes = await Promise.all([
      ...Array.from({ length: PARALLEL }, () => upload(`${api}/conversations`, {}, UPLOAD_BYTES)),
      ...Array.from({ length: PARALLEL }, () => upload(`${api}/conversations`, signedIn, UPLOAD_BYTES)),
    ]);
    const after = memory(pid, 'VmRSS');
    const peak = memory(pid, 'VmHWM');
    const figures = `RSS ${(before / MIB).toFixed(0)} → ${(after / MIB).toFixed(0)} MB, peak ${(peakBefore / MIB).toFixed(0)} → ${(peak / MIB).toFixed(0)} MB`;
    console.log(`[uploadMemory] ${figures}; client bytes written per upload: ${outcomes.map((o) => (o.sent / MIB).toFixed(1)).join(', ')} MB`);

    expect(outcomes.slice(0, PARALLEL).map((o) => [o.status, o.code])).toEqual(Array(PARALLEL).fill([401, 'unauthorized']));
    expect(outcomes.slice(PARALLEL).map((o) => [o.status, o.code])).toEqual(Array(PARALLEL).fill([413, 'payload_too_large']));
    // The answers came long before the bodies ended: the client stopped writing there.
    for (const o of outcomes) expect(o.sent).toBeLessThan(UPLOAD_BYTES);
    expect(after - before, figures).toBeLessThan(MAX_GROWTH_BYTES);
    expect(peak - Math.max(before, peakBefore), figures).toBeLessThan(MAX_GROWTH_BYTES);

    // Still serving afterwards.
    expect((await fetch(`${api}/health`)).status).toBe(200);
  });
});
