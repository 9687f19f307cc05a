import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The parts of `@vercel/cosmosdb-server`'s document store this file reaches into (lib/account/items.js). */
interface Items {
  _data: Map<string, { read(): Record<string, unknown> | undefined }>;
  _set(data: Record<string, unknown>): Record<string, unknown>;
  delete(idOrRid: string, partition?: unknown): void;
  query(params: unknown, options: unknown): unknown;
  _item(keyPath: string, value: unknown, partition: unknown): { read(): Record<string, unknown> | undefined };
  _getPartition(data: Record<string, unknown>): unknown;
  /** Added here: the store's items by partition key (`JSON.stringify` of its value). */
  _byPartition?: Map<string, Map<string, { read(): Record<string, unknown> | undefined }>>;
}

type Executor = (collection: unknown, options: {
  code: string; parameters?: unknown; udf?: unknown; maxItemCount?: unknown; continuation?: unknown; compositeIndexes?: unknown;
}) => unknown;

/**
 * The partition key a request names (`x-ms-documentdb-partitionkey`, as the key `_byPartition` uses): set on the
 * request by a scoped server, copied onto the query's parsed body, read by the query. Carried on the objects, not in
 * an AsyncLocalStorage: one `run` turns on async hooks for the whole process for good, which made every promise of
 * the process hosting the store (the service's, under a bench or an in-process `npm start`) ~20 % dearer.
 */
const PARTITION = Symbol('partition named by the request');
type Tagged = { [PARTITION]?: string | undefined };
let patched = false;

/**
 * The embedded server answers a query by running it over every document of the container, every caller's: a turn's
 * history query in a store of 10,000 documents took 260–500 ms (a point read ~1 ms; now ~3 ms, the bench's "embedded
 * store" row), and under `npm start` the store only grows, since it is kept. Cosmos DB scopes a query that names its partition key to that partition; this makes
 * the embedded server do the same: it keeps each container's documents by partition as they are written and
 * deleted, and a query whose request names a partition runs over that partition's documents only (a query that
 * names none still runs over all). The query's own text is unchanged, so its answer is the same. It also compiles
 * each query's generated code once instead of with `new Function` on every run. Patches the package's classes once
 * per process; `scopeQueriesOf` then marks one server's requests.
 */
function patchOnce(): void {
  if (patched) return;
  patched = true;
  const require = createRequire(import.meta.url);
  const Items = (require('@vercel/cosmosdb-server/lib/account/items.js') as { default: { prototype: Items } }).default.prototype;
  const executor = require('@zeit/cosmosdb-query/lib/executor.js') as { default: Executor };

  const partitionOf = (store: Items): Map<string, Map<string, { read(): Record<string, unknown> | undefined }>> => {
    store._byPartition ??= new Map();
    return store._byPartition;
  };
  const set = Items._set;
  Items._set = function (this: Items, data) {
    const out = set.call(this, data);
    const key = JSON.stringify(this._getPartition(out) ?? null);
    const partition = partitionOf(this).get(key) ?? new Map();
    partition.set(out._rid as string, this._data.get(out._rid as string)!);
    partitionOf(this).set(key, partition);
    return out;
  };
  const remove = Items.delete;
  Items.delete = function (this: Items, idOrRid, partition) {
    const data = this._item('/id', idOrRid, partition).read();
    remove.call(this, idOrRid, partition);
    if (!data) return;
    const key = JSON.stringify(this._getPartition(data) ?? null);
    const items = partitionOf(this).get(key);
    items?.delete(data._rid as string);
    if (items?.size === 0) partitionOf(this).delete(key);
  };
  const json = require('@vercel/cosmosdb-server/lib/json.js') as { default: (req: IncomingMessage) => Promise<unknown> };
  const readJson = json.default;
  json.default = async (req) => {
    const body = await readJson(req);
    const key = (req as Tagged)[PARTITION];
    if (key !== undefined && typeof body === 'object' && body !== null && 'query' in body) Object.defineProperty(body, PARTITION, { value: key });
    return body;
  };
  const query = Items.query;
  Items.query = function (this: Items, params, options) {
    const key = typeof params === 'object' && params !== null ? (params as Tagged)[PARTITION] : undefined;
    if (key === undefined) return query.call(this, params, options);
    // The original reads `this._data` only to list the documents: the partition's stand in for the length of the call.
    const all = this._data;
    this._data = partitionOf(this).get(key) ?? new Map();
    try {
      return query.call(this, params, options);
    } finally {
      this._data = all;
    }
  };

  // The package's executor with its `new Function` made once per query text instead of on every run.
  const libraries = ['aggregate-functions', 'builtin-functions', 'helpers'].map((name) => require(`@zeit/cosmosdb-query/lib/${name}.js`) as unknown);
  const compiled = new Map<string, (...args: unknown[]) => unknown>();
  executor.default = (collection, { code, parameters, udf = {}, maxItemCount, continuation, compositeIndexes }) => {
    let execute = compiled.get(code);
    if (!execute) {
      execute = new Function(`"use strict";return (${code})`)() as (...args: unknown[]) => unknown;
      compiled.set(code, execute);
    }
    const params: Record<string, unknown> = {};
    for (const { name, value } of (parameters as { name: string; value: unknown }[] | undefined) ?? []) params[name.slice(1)] = value;
    const [aggregates, builtins, helpers] = libraries;
    return execute(aggregates, builtins, collection, helpers, udf, params, maxItemCount, continuation, compositeIndexes);
  };
}

/** Runs `server`'s request handlers with the partition each request names, so its queries are scoped to it. */
export function scopeQueriesOf(server: Server): void {
  patchOnce();
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  for (const handler of handlers) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      (req as Tagged)[PARTITION] = partitionKeyOf(req);
      handler(req, res);
    });
  }
}

/**
 * The server has no query planner: it answered the SDK's query-plan request (sent beside every query) by running
 * the query over the whole container, an answer the SDK only uses when the query itself is refused for want of a
 * plan, which this server never does. That request runs over no documents: same shape, never used, no scan.
 */
const NO_PARTITION = JSON.stringify({ planRequest: true });

/** `["alice"]` → `"alice"` as JSON, the key `_byPartition` uses; undefined when absent or not one value. */
function partitionKeyOf(req: IncomingMessage): string | undefined {
  if (req.headers['x-ms-cosmos-is-query-plan-request'] !== undefined) return NO_PARTITION;
  const header = req.headers['x-ms-documentdb-partitionkey'];
  if (typeof header !== 'string') return undefined;
  try {
    const parsed = JSON.parse(header) as unknown;
    return Array.isArray(parsed) && parsed.length === 1 ? JSON.stringify(parsed[0]) : undefined;
  } catch {
    return undefined;
  }
}
