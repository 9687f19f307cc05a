import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_START as START, cleanEnv, freePort, startBuiltApp } from '../support/builtApp.js';

const built = existsSync(START);

describe('npm start (the built local host, as a user runs it)', () => {
  it('is built (npm test builds before running vitest)', () => {
    expect(built, `${START} is missing: run npm run build`).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /^Cannot start: PORT="abc" is not valid: a whole number from 1 to 65535$/],
    [{ AUTH_MODE: 'dev', WEBSITE_SITE_NAME: 'app', PHI_ENDPOINT: 'https://x', COSMOS_ENDPOINT: 'https://y' }, /^Cannot start: AUTH_MODE="dev" is not valid/],
    [{ PHI_MODEL: 'gpt-4' }, /^Cannot start: PHI_MODEL="gpt-4" is not valid/],
    [
      { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'api://chat', JWT_JWKS_URI: 'http://issuer.example/keys' },
      /^Cannot start: JWT_JWKS_URI="http:\/\/issuer\.example\/keys" is not valid: an https URL/,
    ],
  ])('refuses a bad setting with one clear line and exit code 1: %o', (env, line) => {
    const result = spawnSync(process.execPath, [START], { env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  describe('with no Azure settings', () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      child?.kill('SIGTERM');
    });

    it('serves /api/health with 200, an unknown route with a 404 problem, and the chat page at /', async () => {
      const port = await freePort();
      const started = await startBuiltApp({ PORT: String(port) });
      child = started.child;
      const { output } = started;
      // The store in its own worker thread (startCosmosWorker), off the service's event loop.
      expect(output).toMatch(/embedded Cosmos-compatible store at https:\/\/127\.0\.0\.1:\d+ \(its own thread\); data lives in memory/);
      expect(output).toMatch(/bundled Phi simulator/);
      // No AUTH_MODE: dev, since npm start listens on loopback only.
      expect(output).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/api \(auth mode dev\)/);

      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const unknown = await fetch(`http://127.0.0.1:${port}/api/nope`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await unknown.json()).toMatchObject({ status: 404, code: 'not_found' });

      // The chat page, as the README's quick start says: its HTML, its script, the built client and its one dependency.
      expect(output).toContain(`chat in the browser: open http://127.0.0.1:${port}/`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
      for (const path of ['/app/main.js', '/client/index.js', '/vendor/eventsource-parser/index.js']) {
        const script = await fetch(`http://127.0.0.1:${port}${path}`);
        expect([path, script.status, script.headers.get('content-type')]).toEqual([path, 200, 'text/javascript; charset=utf-8']);
      }
    });
  });
});
