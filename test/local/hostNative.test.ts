import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve('.');
// Inside node_modules so the compiled files resolve '@azure/functions' like dist/ does, and git ignores them.
const outDir = join(root, 'node_modules', '.cache', 'local-host-native-test');

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/**
 * vitest loads '@azure/functions' with its own interop; `npm start` and Azure use Node's ESM loader,
 * which sees only some of the bundle's named exports. So the host and a fixture app are compiled and
 * run here in a plain `node` process.
 */
describe('local host under plain Node ESM', () => {
  it('loads the compiled app, lists its functions and streams a response', async () => {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { noEmit: false, outDir, rootDir: root, sourceMap: false, typeRoots: [join(root, 'node_modules/@types')] },
        include: [],
        files: ['local/host/index.ts', 'test/support/fixtures/hostApp/streaming.ts', 'test/support/fixtures/hostApp/routes.ts'].map(
          (f) => join(root, f),
        ),
      }),
    );
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(outDir, 'tsconfig.json')]);
    writeFileSync(
      join(outDir, 'run.mjs'),
      `import { createLocalHost, describeHttpFunctions, loadFunctionsApp } from './local/host/index.js';
       const app = await loadFunctionsApp({ mainGlob: 'test/support/fixtures/hostApp/*.js', cwd: ${JSON.stringify(outDir)} });
       const host = await createLocalHost({ app, logger: { info() {}, error() {} } });
       const res = await fetch(host.url + '/api/stream');
       const text = await res.text();
       const cookies = await fetch(host.url + '/api/cookies');
       console.log(JSON.stringify({ names: describeHttpFunctions(app).map((f) => f.name), status: res.status, text, cookieStatus: cookies.status }));
       await host.close();`,
    );

    const { stdout } = await run(process.execPath, [join(outDir, 'run.mjs')], { cwd: root });

    expect(JSON.parse(stdout)).toEqual({
      names: expect.arrayContaining(['stream', 'cookies', 'echo']) as unknown,
      status: 200,
      text: 'chunk 1\nchunk 2\nchunk 3\n',
      cookieStatus: 201,
    });
  }, 60_000);
});
