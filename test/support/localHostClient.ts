import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** One body chunk as it came off the socket. */
export interface ArrivedChunk {
  readonly at: number;
  readonly bytes: Buffer;
}

/** A whole response, with its body chunks in arrival order. */
export interface RecordedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly chunks: readonly ArrivedChunk[];
  readonly body: Buffer;
  text(): string;
  json(): unknown;
}

/** Options of {@link send}. */
export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
}

/** Starts a request over a fresh connection and resolves with the response head. */
export function open(url: string, options: SendOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, resolve);
    req.once('error', reject);
    req.end(options.body);
  });
}

/** Sends a request and records every body chunk with the time it arrived. */
export async function send(url: string, options: SendOptions = {}): Promise<RecordedResponse> {
  const res = await open(url, options);
  const chunks: ArrivedChunk[] = [];
  await new Promise<void>((resolve, reject) => {
    res.on('data', (bytes: Buffer) => chunks.push({ at: performance.now(), bytes }));
    res.once('end', resolve);
    res.once('error', reject);
  });
  const body = Buffer.concat(chunks.map((c) => c.bytes));
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    chunks,
    body,
    text: () => body.toString('utf8'),
    json: () => JSON.parse(body.toString('utf8')) as unknown,
  };
}
