import Module, { createRequire } from 'node:module';
import type { HttpHandler } from '@azure/functions';
import { findHttpTrigger, toHttpRegistration, type CoreFunctionMetadata, type HttpRegistration } from './HttpRegistration.js';

/** A hook callback as the worker receives it from `app.hook.*` (`coreTypes.HookCallback`). */
export type CoreHookCallback = (context: Record<string, unknown>) => unknown;

/** Everything the app handed to the stand-in while its function files loaded. */
export interface FunctionsRegistry {
  readonly httpFunctions: HttpRegistration[];
  /** Functions with other triggers: known, but never run by the local host. */
  readonly otherFunctions: string[];
  readonly hooks: Map<string, CoreHookCallback[]>;
  /** Shared by every hook of the app, as the worker's `appHookData`. */
  readonly appHookData: Record<string, unknown>;
  /** Set once `@azure/functions` has announced itself; unset means it never found the stand-in. */
  programmingModel: unknown;
}

const MODULE_NAME = '@azure/functions-core';
// A name no file can have, so the entry in the require cache is ours alone.
const VIRTUAL_FILENAME = '\0local-host:@azure/functions-core';
const REGISTRY_KEY = Symbol.for('phi-chat-backend.localHost.functionsRegistry');

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
const nodeRequire = createRequire(import.meta.url);

/**
 * Makes `require('@azure/functions-core')` (which `@azure/functions` does lazily, once, the first time
 * `app.*` or `app.setup` needs the worker) return a stand-in that captures registrations instead of a
 * gRPC worker. Must run before the app's function files call `app.http(...)`: if the library already
 * looked the module up and cached "not found" (its test mode), nothing can be captured.
 * Idempotent; the registry is per process, like the worker's.
 */
export function installFunctionsCoreStandIn(): FunctionsRegistry {
  const holder = globalThis as unknown as Record<symbol, FunctionsRegistry | undefined>;
  const existing = holder[REGISTRY_KEY];
  if (existing !== undefined) {
    return existing;
  }
  const registry: FunctionsRegistry = {
    httpFunctions: [],
    otherFunctions: [],
    hooks: new Map(),
    appHookData: {},
    programmingModel: undefined,
  };
  holder[REGISTRY_KEY] = registry;

  const coreModule = new Module(VIRTUAL_FILENAME);
  coreModule.filename = VIRTUAL_FILENAME;
  coreModule.loaded = true;
  coreModule.exports = createCoreApi(registry);
  nodeRequire.cache[VIRTUAL_FILENAME] = coreModule;

  const original = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function resolveFilename(this: unknown, request: string, ...rest: unknown[]): string {
    return request === MODULE_NAME ? VIRTUAL_FILENAME : original.call(this, request, ...rest);
  };
  return registry;
}

/** The subset of the worker's `@azure/functions-core` API that `@azure/functions` 4.x calls. */
function createCoreApi(registry: FunctionsRegistry): Record<string, unknown> {
  return {
    version: '4.0.0-local',
    hostVersion: '4.1000.0-local',
    setProgrammingModel(model: unknown): void {
      registry.programmingModel = model;
    },
    getProgrammingModel(): unknown {
      return registry.programmingModel;
    },
    registerFunction(metadata: CoreFunctionMetadata, handler: HttpHandler): { dispose(): void } {
      const taken = [...registry.httpFunctions.map((f) => f.name), ...registry.otherFunctions];
      if (taken.some((name) => name.toLowerCase() === metadata.name.toLowerCase())) {
        // The host refuses duplicate names too.
        throw new Error(`A function named "${metadata.name}" is already registered.`);
      }
      if (findHttpTrigger(metadata) === undefined) {
        registry.otherFunctions.push(metadata.name);
        console.warn(`local host: function "${metadata.name}" has no HTTP trigger and will not run locally.`);
        return { dispose: () => removeFrom(registry.otherFunctions, metadata.name) };
      }
      const registration = toHttpRegistration(metadata, handler);
      registry.httpFunctions.push(registration);
      return { dispose: () => removeFrom(registry.httpFunctions, registration) };
    },
    registerHook(hookName: string, callback: CoreHookCallback): { dispose(): void } {
      const callbacks = registry.hooks.get(hookName) ?? [];
      callbacks.push(callback);
      registry.hooks.set(hookName, callbacks);
      return { dispose: () => removeFrom(callbacks, callback) };
    },
    // Its presence is how `app.setup({ enableHttpStream: true })` recognises a host recent enough to stream.
    log(level: string, category: string, message: string): void {
      if (level === 'error' || level === 'critical' || level === 'warning') {
        console.error(`[${category}] ${level}: ${message}`);
      }
    },
  };
}

function removeFrom<T>(items: T[], item: T): void {
  const at = items.indexOf(item);
  if (at >= 0) {
    items.splice(at, 1);
  }
}
