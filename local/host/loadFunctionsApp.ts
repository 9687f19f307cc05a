import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installFunctionsCoreStandIn, type FunctionsRegistry } from './functionsCoreStandIn.js';

/** Options of {@link loadFunctionsApp}. */
export interface LoadFunctionsAppOptions {
  /** The app's function files, like package.json `main` (`dir/*.js`); package.json `main` by default. */
  readonly mainGlob?: string;
  /** Folder the glob and package.json are relative to; the current directory by default. */
  readonly cwd?: string;
}

/**
 * Loads the app the way the Node worker does: installs the `@azure/functions-core` stand-in, then
 * imports every file package.json `main` names, so each `app.http(...)` lands in the returned registry.
 * Only a `dir/pattern` glob is understood (`*` within the file name), which is what Functions
 * templates use. Importing again returns the same registry: modules are evaluated once per process.
 */
export async function loadFunctionsApp(options: LoadFunctionsAppOptions = {}): Promise<FunctionsRegistry> {
  const registry = installFunctionsCoreStandIn();
  const cwd = resolve(options.cwd ?? process.cwd());
  const mainGlob = options.mainGlob ?? readMain(cwd);
  const files = expandGlob(cwd, mainGlob);
  if (files.length === 0) {
    throw new Error(`No function files match "${mainGlob}" in ${cwd}${mainGlob.startsWith('dist/') ? ' (run the build first)' : ''}.`);
  }
  for (const file of files) {
    await import(pathToFileURL(file).href);
  }
  if (registry.programmingModel === undefined) {
    throw new Error(
      'No function was registered: the files call no app.* function, or "@azure/functions" looked for ' +
        'its worker before installFunctionsCoreStandIn() ran (it then stays in test mode).',
    );
  }
  return registry;
}

function readMain(cwd: string): string {
  const packageJson = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { main?: unknown };
  if (typeof packageJson.main !== 'string') {
    throw new Error(`${join(cwd, 'package.json')} has no "main" naming the function files.`);
  }
  return packageJson.main;
}

function expandGlob(cwd: string, glob: string): string[] {
  const slash = glob.lastIndexOf('/');
  const dir = slash >= 0 ? glob.slice(0, slash) : '.';
  const pattern = glob.slice(slash + 1);
  if (/[*?[{]/.test(dir)) {
    throw new Error(`"${glob}": only the file name part of the glob may have wildcards.`);
  }
  const matcher = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('[^/]*')}$`);
  let names: string[];
  try {
    names = readdirSync(join(cwd, dir));
  } catch {
    return [];
  }
  return names
    .filter((name) => matcher.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.map'))
    .sort()
    .map((name) => join(cwd, dir, name));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
