import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { writeProblem } from './writeProblem.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Where each URL of the chat page comes from, relative to the repository: the page's own HTML and CSS, its
 * compiled script, the client package's built ESM and eventsource-parser's, which the page's import map names. Only
 * the local host serves them: the Functions app registers no such route, so a deployment never carries the page.
 */
const MOUNTS: readonly { readonly prefix: string; readonly dir: string }[] = [
  { prefix: '/app/', dir: 'dist/page' },
  { prefix: '/client/', dir: 'clients/typescript/dist' },
  { prefix: '/vendor/eventsource-parser/', dir: 'node_modules/eventsource-parser/dist' },
];
const PAGE_FILES: Readonly<Record<string, string>> = { '/': 'local/page/index.html', '/style.css': 'local/page/style.css' };
// One plain file name below a mount: no `..`, no sub-folder, nothing but the built kinds.
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(js|css|map)$/;

/** The file a chat page URL names, or undefined when the path is not one of the page's. */
export function chatPageFile(path: string): string | undefined {
  const page = PAGE_FILES[path];
  if (page !== undefined) return page;
  for (const { prefix, dir } of MOUNTS) {
    if (!path.startsWith(prefix)) continue;
    const name = path.slice(prefix.length);
    return FILE_NAME.test(name) ? `${dir}/${name}` : undefined;
  }
  return undefined;
}

/** Answers a GET or HEAD for a chat page file under `root`; false when the request is not one (the API's). */
export async function serveChatPage(root: string, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const file = chatPageFile(path);
  if (file === undefined) return false;
  req.resume();
  const full = join(root, file);
  const info = await stat(full).catch(() => undefined);
  if (!info?.isFile()) {
    const detail = file.startsWith('local/') ? `${path} is not part of the chat page.` : `${path} is not built: run npm run build.`;
    writeProblem(res, 404, 'not_found', detail);
    return true;
  }
  const extension = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, { 'content-type': TYPES[extension] ?? 'application/octet-stream', 'content-length': info.size, 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve) => {
    createReadStream(full).on('error', () => res.destroy()).on('close', resolve).pipe(res);
  });
  return true;
}
