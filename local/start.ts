/**
 * `npm start`: serves the Functions app without Azure Functions Core Tools. Settings come from the environment;
 * without COSMOS_ENDPOINT / PHI_ENDPOINT the embedded store and the Phi simulator stand in (buildLocalServices), the
 * store's data kept in LOCAL_DATA_DIR (resolveLocalDataDir).
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLocalHost, loadFunctionsApp } from './host/index.js';
import { DataFolderInUse } from './keepAccountIn.js';
import { resolveLocalDataDir } from './resolveLocalDataDir.js';

async function main(): Promise<void> {
  let config;
  try {
    // The local host listens on loopback only (below), the one place AUTH_MODE may default to dev.
    config = loadConfig(process.env, { loopbackHost: true });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const registry = await loadFunctionsApp();
  const [{ useServices }, { buildLocalServices }] = await Promise.all([import('../src/app.js'), import('./localServices.js')]);
  // Built, this file is dist/local/start.js: the repository is two folders up, wherever npm start runs from.
  const chatPageRoot = fileURLToPath(new URL('../..', import.meta.url));
  const dataDir = resolveLocalDataDir(process.env, chatPageRoot);
  const services = await buildLocalServices(config, {}, { ...(dataDir ? { dataDir } : {}), storeThread: true }).catch((error: unknown) => {
    if (!(error instanceof DataFolderInUse)) throw error;
    console.error(`Cannot start: ${error.message}`);
    process.exit(1);
  });
  useServices(services);
  const host = await createLocalHost({
    app: registry, hostname: '127.0.0.1', port: config.port, corsAllowedOrigins: config.corsAllowedOrigins, chatPageRoot,
  });
  // The page's line first: a reader of the output (a test, a script) waits for "listening on" as the last one.
  console.log(`[chat] chat in the browser: open ${host.url}/`);
  console.log(`[chat] listening on ${host.url}/api (auth mode ${config.auth.mode}); try: curl ${host.url}/api/health`);

  const stop = async () => {
    await host.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

await main();
