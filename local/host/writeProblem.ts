import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * Answers with an RFC 9457 problem for what the host itself decides (unknown route, method, a handler
 * that failed before it answered). `type` is `about:blank`, so `title` is the status phrase.
 */
export function writeProblem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
