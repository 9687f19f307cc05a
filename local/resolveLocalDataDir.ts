import { resolve } from 'node:path';

/** The LOCAL_DATA_DIR value that asks for a throwaway run; a folder of that name is `./memory`. */
export const IN_MEMORY = 'memory';

/**
 * Where `npm start` keeps the embedded store's data: LOCAL_DATA_DIR (relative to the working directory), by default
 * `.data` in the repository (git-ignored); undefined for LOCAL_DATA_DIR=memory, an in-memory run.
 */
export function resolveLocalDataDir(env: NodeJS.ProcessEnv, repositoryRoot: string): string | undefined {
  const setting = env.LOCAL_DATA_DIR?.trim();
  if (setting === IN_MEMORY) return undefined;
  return setting ? resolve(setting) : resolve(repositoryRoot, '.data');
}
