import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorsPolicy } from './cors.js';
import type { FunctionsRegistry } from './functionsCoreStandIn.js';
import { invokeHttpFunction, runAppHooks } from './invokeHttpFunction.js';
import { isLocalHostHeader } from './isLocalHostHeader.js';
import { isLoopbackAddress } from './isLoopbackAddress.js';
import { readRoutePrefix } from './readRoutePrefix.js';
import { RouteTable, type RouteResolution } from './routeTable.js';
import { writeHttpResponse } from './writeHttpResponse.js';
import { writeProblem } from './writeProblem.js';

/** Where the local host writes its lines; request lines never include headers (they carry tokens). */
export interface LocalHostLogger {
  info(line: string): void;
  error(line: string, cause?: unknown): void;
}

/** Options of {@link createLocalHost}. */
export interface LocalHostOptions {
  /** The app loaded by `loadFunctionsApp()`. */
  readonly app: FunctionsRegistry;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Loopback by default; the local host is not meant to be reachable from other machines. */
  readonly hostname?: string;
  /** Overrides host.json's `extensions.http.routePrefix`. */
  readonly routePrefix?: string;
  /** host.json to read the route prefix from; `./host.json` by default. */
  readonly hostJsonPath?: string;
  readonly logger?: LocalHostLogger;
  /**
   * Origins browser apps may call from (`CORS_ALLOWED_ORIGINS`): exact origins or `*`. Empty or absent: no
   * CORS headers at all. In Azure the platform's CORS setting does this instead (set by the infra).
   */
  readonly corsAllowedOrigins?: readonly string[];
  /**
   * Largest request body the host passes on; a bigger declared length gets 413 before any function runs, a longer
   * chunked body fails the function's read and gets 413. Azure's 100 MB by default.
   */
  readonly maxRequestBodyBytes?: number;
  /**
   * Largest request head Node accepts, in bytes; bigger gets 431. 32 KiB by default, twice Node's 16 KiB,
   * so a large Entra ID token (many group claims) fits. Azure's front end enforces its own limits.
   */
  readonly maxHeaderSize?: number;
}

/** Longest a request may take to arrive whole, head and body (Node's `server.requestTimeout`); then 408. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Longest the request head may take (Node's `server.headersTimeout`): a client trickling headers holds nothing longer. */
export const HEADERS_TIMEOUT_MS = 15_000;

/** See {@link LocalHostOptions.maxHeaderSize}. */
export const DEFAULT_MAX_HEADER_SIZE = 32 * 1024;

/** Azure Functions refuses HTTP request bodies over 100 MB before the app sees them; so does the local host. */
export const MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

/** A body over the host's limit: the stream the function reads fails with it, and the host answers 413 itself. */
class BodyTooLarge extends Error {}

/** A running local host. */
export interface LocalHost {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /**
   * Whether the address it listens on is reachable from this machine only. Then only requests whose `Host` names
   * this machine are served (421 otherwise), so a web page cannot drive it through DNS rebinding.
   */
  readonly loopback: boolean;
  /** Stops accepting requests, lets running ones (and their bodies) finish, then runs `appTerminate` hooks. */
  close(): Promise<void>;
}

const consoleLogger: LocalHostLogger = {
  info: (line) => console.log(line),
  error: (line, cause) => (cause === undefined ? console.error(line) : console.error(line, cause)),
};

/**
 * Serves the functions an app registered with `app.http(...)` over plain Node HTTP, the way the
 * Functions host and the Node worker would with `enableHttpStream`: same route templates behind the
 * same prefix, the library's own `HttpRequest`/`HttpResponse`, bodies streamed as produced.
 * Every request goes to the function whose route serves its method, a catch-all included, so the app's
 * fallback.ts answers its own 404/405 as in Azure. The host's own problems are only for what no function serves
 * (a path outside the prefix, a method no route lists): 404, or 405 with `Allow` where routes exist for other
 * methods (Azure's host says 404). `authLevel` keys are not checked (as with Core Tools).
 */
export async function createLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const logger = options.logger ?? consoleLogger;
  const routePrefix = options.routePrefix ?? readRoutePrefix(options.hostJsonPath ?? 'host.json');
  const routes = new RouteTable(options.app.httpFunctions, routePrefix);
  const cors = new CorsPolicy(options.corsAllowedOrigins ?? []);
  const inFlight = new Set<Promise<void>>();

  await runAppHooks(options.app, 'appStart');
  const serverOptions = { noDelay: true, maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE };
  let loopback = true;
  const server = createServer(serverOptions, (req, res) => {
    if (loopback && !isLocalHostHeader(req.headers.host)) {
      refuseHost(req, res, logger);
      return;
    }
    const handled = handle(options.app, routes, cors, logger, req, res, options.maxRequestBodyBytes ?? MAX_REQUEST_BODY_BYTES).catch((error: unknown) => {
      logger.error(`local host: unexpected failure on ${req.method} ${pathOf(req)}`, error);
      if (!res.headersSent) writeProblem(res, 500, 'internal', 'The server failed to answer.');
      else res.destroy();
    });
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.hostname ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // From the address actually bound: `0.0.0.0` or a LAN address is a choice to be reached by name from elsewhere.
  loopback = isLoopbackAddress(address.address);

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    loopback,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
      await runAppHooks(options.app, 'appTerminate');
    },
  };
}

async function handle(
  app: FunctionsRegistry,
  routes: RouteTable,
  cors: CorsPolicy,
  logger: LocalHostLogger,
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const path = pathOf(req);
  let note = '';
  try {
    const resolution = routes.resolve(method, path);
    const decision = cors.decide(req, methodsOf(resolution));
    if (decision.kind === 'preflight') {
      req.resume();
      res.writeHead(204, decision.headers).end();
      return;
    }
    if (decision.kind === 'preflight_refused') {
      // Any answer without Access-Control-Allow-Origin fails the preflight in the browser; a 403 with a
      // problem (rather than a bare 204) says why in the network panel and in curl.
      req.resume();
      writeProblem(res, 403, 'origin_not_allowed', `The origin ${decision.origin} is not in CORS_ALLOWED_ORIGINS.`);
      return;
    }
    if (decision.kind === 'actual') {
      // Set before anything answers, so host problems (404, 405, 500) are readable by the browser app too.
      for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
    }
    if (resolution.kind === 'not_found') {
      req.resume();
      writeProblem(res, 404, 'not_found', `No route matches ${method} ${path}.`);
      return;
    }
    if (resolution.kind === 'method_not_allowed') {
      req.resume();
      const allow = resolution.allow.join(', ');
      writeProblem(res, 405, 'method_not_allowed', `${method} is not allowed here; use ${allow}.`, { allow });
      return;
    }

    if (Number(req.headers['content-length'] ?? '0') > maxBodyBytes) {
      refuseTooLarge(res, maxBodyBytes);
      return;
    }
    // The body goes to the function as the stream it is, so the function decides how much to read (its identity
    // check first, its own size limit next), as in the worker's streaming mode; nothing is buffered here.
    const body = method === 'GET' || method === 'HEAD' ? null : bodyStream(req, maxBodyBytes);
    let response;
    try {
      response = await invokeHttpFunction(app, resolution.registration, {
        method,
        url: requestUrl(req),
        headers: flattenHeaders(req),
        params: resolution.params,
        body: body?.stream ?? null,
      });
    } catch (error) {
      if (body?.overLimit()) {
        refuseTooLarge(res, maxBodyBytes);
        return;
      }
      logger.error(`local host: function "${resolution.registration.name}" failed`, error);
      writeProblem(res, 500, 'internal', 'The server failed to answer.');
      return;
    }
    if (body?.overLimit()) {
      // The platform refuses such a body before the app sees it; whatever the function made of the cut stream, so do we.
      refuseTooLarge(res, maxBodyBytes);
      return;
    }
    // A body the function left unread is read and dropped by Node once the answer is sent (as a refused body is by
    // the app): closing instead would reset a client still sending, often before it could read the answer.
    try {
      const outcome = await writeHttpResponse(res, response);
      if (outcome.clientGone) note = ' (client went away; body read to its end)';
    } catch (error) {
      note = ' (body failed mid-stream)';
      logger.error(`local host: the response body of "${resolution.registration.name}" failed`, error);
    }
  } finally {
    const ms = Math.round(performance.now() - started);
    logger.info(`${method} ${path} ${res.statusCode} ${ms}ms${note}`);
  }
}

/** The methods served at the request's path, whatever its own method; undefined for an unknown path. */
function methodsOf(resolution: RouteResolution): readonly string[] | undefined {
  if (resolution.kind === 'match') return resolution.registration.methods;
  return resolution.kind === 'method_not_allowed' ? resolution.allow : undefined;
}

/** DNS rebinding: a page whose own name now points at 127.0.0.1 reaches this server, but its Host still says that name. */
function refuseHost(req: IncomingMessage, res: ServerResponse, logger: LocalHostLogger): void {
  req.resume();
  writeProblem(res, 421, 'misdirected_request', 'This server listens on loopback and answers only Host: localhost, 127.0.0.1 or [::1] (any port).');
  logger.info(`${req.method ?? 'GET'} ${pathOf(req)} 421 (Host not this machine)`);
}

function refuseTooLarge(res: ServerResponse, maxBodyBytes: number): void {
  res.setHeader('connection', 'close');
  writeProblem(res, 413, 'payload_too_large', `The request body is larger than ${maxBodyBytes} bytes.`);
}

/**
 * The request body as a pull stream: a chunk is read from the socket only when the function asks for one, so an
 * unread body costs nothing but the socket's buffers. Past `limit` bytes the stream fails, as the platform's limit.
 */
function bodyStream(req: IncomingMessage, limit: number): { stream: ReadableStream<Uint8Array>; overLimit(): boolean } {
  let chunks: AsyncIterator<Buffer> | undefined;
  let size = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Made on the first read: until then the request is not touched at all.
        chunks ??= req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        const next = await chunks.next();
        if (next.done) {
          controller.close();
          return;
        }
        size += next.value.length;
        if (size > limit) {
          controller.error(new BodyTooLarge());
          return;
        }
        controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
      },
      // Not passed on to the socket: ending it now would lose the answer; the connection closes after it instead.
      cancel() {},
    },
    { highWaterMark: 0 },
  );
  return { stream, overLimit: () => size > limit };
}

/** The path without the query string, still percent-encoded. */
function pathOf(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  const query = raw.indexOf('?');
  return query >= 0 ? raw.slice(0, query) : raw;
}

/** The absolute URL the app sees; built by concatenation so a path like `//x` stays a path. */
function requestUrl(req: IncomingMessage): string {
  const path = req.url ?? '/';
  try {
    if (req.headers.host) return new URL(`http://${req.headers.host}${path}`).href;
  } catch {
    // A malformed Host header: fall back to the address the request came in on.
  }
  return new URL(`http://localhost:${req.socket.localPort ?? 80}${path}`).href;
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
