// A fresh process for the cold-start benchmark: `app` imports the built function files behind the functions-core
// stand-in (the worker's own module is not available outside Azure); `empty` imports nothing.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

if (process.argv[2] === 'app') {
  const { installFunctionsCoreStandIn } = await import('../local/host/functionsCoreStandIn.js');
  const registry = installFunctionsCoreStandIn();
  const dir = join(process.cwd(), 'dist', 'src', 'functions');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) await import(pathToFileURL(join(dir, name)).href);
  console.log(JSON.stringify({ ms: performance.now(), functions: registry.httpFunctions.length + registry.otherFunctions.length }));
} else {
  console.log(JSON.stringify({ ms: performance.now(), functions: 0 }));
}
