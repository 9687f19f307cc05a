export { createLocalHost, DEFAULT_MAX_HEADER_SIZE, type LocalHost, type LocalHostLogger, type LocalHostOptions } from './createLocalHost.js';
export { CorsPolicy, type CorsDecision } from './cors.js';
export { describeHttpFunctions, type HttpFunctionSummary } from './describeHttpFunctions.js';
export { installFunctionsCoreStandIn, type FunctionsRegistry } from './functionsCoreStandIn.js';
export type { HttpRegistration } from './HttpRegistration.js';
export { loadFunctionsApp, type LoadFunctionsAppOptions } from './loadFunctionsApp.js';
export { readRoutePrefix } from './readRoutePrefix.js';
export { RouteTable, type RouteResolution } from './routeTable.js';
export { parseRouteTemplate, type RouteTemplate } from './routeTemplate.js';
