import { randomUUID } from 'node:crypto';
import functions, {
  type EffectiveFunctionOptions, type HttpRequestInit, type HttpResponse, type HttpResponseInit, type LogLevel,
} from '@azure/functions';
import type { CoreHookCallback, FunctionsRegistry } from './functionsCoreStandIn.js';
import type { HttpRegistration } from './HttpRegistration.js';

// Node's ESM loader sees only some of the webpack bundle's exports: `app` yes, the classes no, so a
// named value import of them fails outside vitest. The default import is the whole CommonJS module.
const { HttpRequest, HttpResponse: HttpResponseClass, InvocationContext } = functions;

/** The parts of an incoming request the Functions host forwards to the worker. */
export interface IncomingHttpCall {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly params: Record<string, string>;
  /** The body as it arrives (null for GET and HEAD): the function reads it, or not, as in streaming mode. */
  readonly body: ReadableStream<Uint8Array> | null;
}

/** The worker's own streaming-mode init (`createStreamRequest`): a WHATWG Request whose body is the live stream. */
type StreamRequestInit = HttpRequestInit & { readonly nativeRequest: Request };

/**
 * Runs one HTTP function the way the Node worker does: builds the library's own `HttpRequest` and
 * `InvocationContext`, runs `preInvocation` hooks (which may replace the inputs or the handler), calls
 * the handler, runs `postInvocation` hooks (which may replace the result or clear the error), and turns
 * the result into an `HttpResponse` as `toRpcHttp` does. Throws what the handler threw.
 * Returns null when the handler returned nothing (the host then answers 204).
 */
export async function invokeHttpFunction(
  registry: FunctionsRegistry,
  registration: HttpRegistration,
  call: IncomingHttpCall,
): Promise<HttpResponse | null> {
  const nativeRequest = new Request(call.url, {
    method: call.method,
    headers: call.headers,
    ...(call.body ? { body: call.body, duplex: 'half' as const } : {}),
  });
  // The query is left to come from the URL, as in streaming mode (the library ignores the host's copy).
  const init: StreamRequestInit = { nativeRequest, params: call.params };
  const request = new HttpRequest(init);
  const invocationId = randomUUID();
  const { $return: returnBinding, ...inputBindings } = registration.metadata.bindings;
  const context = new InvocationContext({
    invocationId,
    functionName: registration.name,
    logHandler: (level, ...args) => userLog(registration.name, level, args),
    triggerMetadata: { ...call.params },
    options: {
      trigger: Object.values(inputBindings)[0] as EffectiveFunctionOptions['trigger'],
      return: returnBinding as EffectiveFunctionOptions['return'],
    },
  });

  const hookData: Record<string, unknown> = {};
  const pre: Record<string, unknown> = {
    hookData,
    appHookData: registry.appHookData,
    invocationContext: context,
    inputs: [request],
    functionCallback: registration.handler,
  };
  await runHooks(registry, 'preInvocation', pre);
  const handler = pre.functionCallback as (...args: unknown[]) => unknown;
  const inputs = pre.inputs as unknown[];

  const post: Record<string, unknown> = {
    hookData,
    appHookData: registry.appHookData,
    invocationContext: context,
    inputs,
    result: null,
    error: null,
  };
  try {
    post.result = await handler(...inputs, context);
  } catch (error) {
    post.error = error;
  }
  await runHooks(registry, 'postInvocation', post);
  if (post.error !== null && post.error !== undefined) {
    throw post.error;
  }
  return toHttpResponse(post.result);
}

/** Runs the app's `appStart` or `appTerminate` hooks, as the worker does around the app's life. */
export async function runAppHooks(registry: FunctionsRegistry, hookName: 'appStart' | 'appTerminate'): Promise<void> {
  await runHooks(registry, hookName, { hookData: {}, appHookData: registry.appHookData, functionAppDirectory: process.cwd() });
}

async function runHooks(registry: FunctionsRegistry, hookName: string, context: Record<string, unknown>): Promise<void> {
  const callbacks: readonly CoreHookCallback[] = registry.hooks.get(hookName) ?? [];
  for (const callback of [...callbacks]) {
    await callback(context);
  }
}

function toHttpResponse(result: unknown): HttpResponse | null {
  if (result === null || result === undefined) {
    return null;
  }
  if (typeof result !== 'object') {
    throw new Error('The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".');
  }
  return result instanceof HttpResponseClass ? result : new HttpResponseClass(result as HttpResponseInit);
}

function userLog(functionName: string, level: LogLevel, args: unknown[]): void {
  const line = [`[${functionName}]`, ...args];
  if (level === 'error' || level === 'critical') console.error(...line);
  else if (level === 'warning') console.warn(...line);
  else if (level === 'information') console.info(...line);
  // trace and debug stay quiet, as the default host.json log level (Information) has them.
}
