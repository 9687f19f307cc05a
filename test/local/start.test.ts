import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';

const START = 'dist/local/start.js';
const built = existsSync(START);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The environment of a fresh shell: none of the test run's Azure settings leak into the child. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, ...extra };
}

describe('npm start (the built local host, as a user runs it)', () => {
  it('is built (npm test builds before running vitest)', () => {
    expect(built, `${START} is missing: run npm run build`).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /^Cannot start: PORT="abc" is not valid: a whole number from 1 to 65535$/],
    [{ AUTH_MODE: 'dev', WEBSITE_SITE_NAME: 'app', PHI_ENDPOINT: 'https://x', COSMOS_ENDPOINT: 'https://y' }, /^Cannot start: AUTH_MODE="dev" is not valid/],
    [{ PHI_MODEL: 'gpt-4' }, /^Cannot start: PHI_MODEL="gpt-4" is not valid/],
  ])('refuses a bad setting with one clear line and exit code 1: %o', (env, line) => {
    const result = spawnSync(process.execPath, [START], { env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  describe('with no Azure settings', () => {
    let child: ReturnType<typeof spawn> | undefined;
    afterAll(() => {
      child?.kill('SIGTERM');
    });

    it('serves /api/health with 200 and an unknown route with a 404 problem', async () => {
      const port = await freePort();
      child = spawn(process.execPath, [START], { env: cleanEnv({ PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('listening on')) resolve();
        };
        child!.stdout!.on('data', onData);
        child!.stderr!.on('data', onData);
        child!.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      expect(output).toMatch(/embedded Cosmos-compatible store/);
      expect(output).toMatch(/bundled Phi simulator/);

      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const unknown = await fetch(`http://127.0.0.1:${port}/api/nope`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await unknown.json()).toMatchObject({ status: 404, code: 'not_found' });
    });
  });
});
