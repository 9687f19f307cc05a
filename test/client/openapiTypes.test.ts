import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it("the client's generated types are what openapi-typescript makes of docs/openapi.json today", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-types-'));
  try {
    const fresh = join(dir, 'openapi.ts');
    await run(process.execPath, ['node_modules/openapi-typescript/bin/cli.js', 'docs/openapi.json', '-o', fresh]);
    const generated = await readFile(fresh, 'utf8');
    expect(generated).toContain('export interface paths');
    // On failure: `npm run generate -w clients/typescript` and commit the result.
    expect(await readFile('clients/typescript/src/openapi.ts', 'utf8')).toBe(generated);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
