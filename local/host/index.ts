export { createLocalHost, type LocalHost, type LocalHostLogger, type LocalHostOptions } from './createLocalHost.js';
export { describeHttpFunctions, type HttpFunctionSummary } from './describeHttpFunctions.js';
export { installFunctionsCoreStandIn, type FunctionsRegistry } from './functionsCoreStandIn.js';
export type { HttpRegistration } from './HttpRegistration.js';
export { loadFunctionsApp, type LoadFunctionsAppOptions } from './loadFunctionsApp.js';
export { readRoutePrefix } from './readRoutePrefix.js';
export { RouteTable, type RouteResolution } from './routeTable.js';
export { parseRouteTemplate, type RouteTemplate } from './routeTemplate.js';
