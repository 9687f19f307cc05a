import type { HttpHandler } from '@azure/functions';

/** One binding of a function as `@azure/functions` describes it to the worker (`RpcBindingInfo`). */
export interface CoreBinding {
  readonly type?: string;
  readonly direction?: string;
  readonly [key: string]: unknown;
}

/** The function metadata `@azure/functions` passes to `registerFunction` (`coreTypes.FunctionMetadata`). */
export interface CoreFunctionMetadata {
  readonly name: string;
  readonly bindings: Readonly<Record<string, CoreBinding>>;
  readonly [key: string]: unknown;
}

/** An HTTP-triggered function as the Functions host sees it, plus the handler the worker would call. */
export interface HttpRegistration {
  readonly name: string;
  /** The route template without the prefix; the function name when `route` was omitted, as in Azure. */
  readonly route: string;
  /** Upper-case HTTP methods. */
  readonly methods: readonly string[];
  readonly authLevel: string;
  /** The handler given to `app.http(...)`: `@azure/functions` registers it unwrapped. */
  readonly handler: HttpHandler;
  /** The full metadata, for the invocation context's `options`. */
  readonly metadata: CoreFunctionMetadata;
}

/** The HTTP trigger binding of a function, or undefined for functions with other triggers. */
export function findHttpTrigger(metadata: CoreFunctionMetadata): CoreBinding | undefined {
  return Object.values(metadata.bindings).find((b) => b.type?.toLowerCase() === 'httptrigger');
}

/** Reads what the host reads from an HTTP function's metadata. */
export function toHttpRegistration(metadata: CoreFunctionMetadata, handler: HttpHandler): HttpRegistration {
  const trigger = findHttpTrigger(metadata);
  if (trigger === undefined) {
    throw new Error(`Function "${metadata.name}" has no HTTP trigger.`);
  }
  const route = typeof trigger.route === 'string' && trigger.route !== '' ? trigger.route : metadata.name;
  const methods = Array.isArray(trigger.methods)
    ? trigger.methods.map((m) => String(m).toUpperCase())
    : ['GET', 'POST'];
  const authLevel = typeof trigger.authLevel === 'string' ? trigger.authLevel : 'anonymous';
  return { name: metadata.name, route, methods, authLevel, handler, metadata };
}
