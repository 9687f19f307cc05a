import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** What `npm start` runs, once `npm run build` made it. */
export const BUILT_START = 'dist/local/start.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The environment of a fresh shell: none of the test run's Azure settings leak into the child. The store is in
 * memory unless a test names a data folder, so no test writes the repository's `.data/`.
 */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOCAL_DATA_DIR: 'memory' };
  return { ...env, ...extra };
}

/** Starts the built app in its own process with `env` and resolves once it listens, with everything it printed. */
export async function startBuiltApp(env: Record<string, string>): Promise<{ child: ChildProcess; output: string }> {
  const child = spawn(process.execPath, [BUILT_START], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
  return { child, output };
}
