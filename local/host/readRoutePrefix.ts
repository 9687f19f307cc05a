import { readFileSync } from 'node:fs';

/**
 * The route prefix the Functions host puts in front of every HTTP route: host.json's
 * `extensions.http.routePrefix`, `"api"` when host.json or the setting is absent, `""` for none.
 */
export function readRoutePrefix(hostJsonPath: string): string {
  let text: string;
  try {
    text = readFileSync(hostJsonPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'api';
    throw error;
  }
  let hostJson: unknown;
  try {
    hostJson = JSON.parse(text);
  } catch (error) {
    throw new Error(`${hostJsonPath} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const prefix = (hostJson as { extensions?: { http?: { routePrefix?: unknown } } }).extensions?.http?.routePrefix;
  if (prefix === undefined) return 'api';
  if (typeof prefix !== 'string') {
    throw new Error(`${hostJsonPath}: extensions.http.routePrefix must be a string.`);
  }
  return prefix.replace(/^\/+|\/+$/g, '');
}
