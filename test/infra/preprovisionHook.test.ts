import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './compiledTemplate.js';

/**
 * infra/hooks/preprovision.sh, run by the real POSIX `sh` as azd runs it. There is no Azure tenant here, so `az` and
 * `azd` are small stand-ins that keep a directory of app registrations, service principals and the azd environment
 * in files; the tests assert what the hook leaves behind there (and its exit status), not which commands it ran.
 */

const HOOK = join(ROOT, 'infra', 'hooks', 'preprovision.sh');

// A directory (JSON file) of app registrations: { name, appId, owner, identifierUris, servicePrincipal }.
const AZ_STUB = `#!/usr/bin/env node
const fs = require('node:fs');
const state = process.env.STUB_STATE;
const load = () => (fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : []);
const save = (apps) => fs.writeFileSync(state, JSON.stringify(apps));
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const cmd = args.filter((a) => !a.startsWith('-')).slice(0, 3).join(' ');
const fail = (message) => { process.stderr.write(message + '\\n'); process.exit(1); };
if (args[0] === 'account' && args[1] === 'show') {
  if (process.env.STUB_SIGNED_OUT) fail('Please run az login');
  console.log(opt('--subscription') ? process.env.STUB_SUBSCRIPTION_TENANT : process.env.STUB_CLI_TENANT);
} else if (cmd === 'ad app list') {
  const name = /displayName=='([^']*)'/.exec(opt('--query') ?? '')?.[1];
  if (!args.includes('--show-mine') || name === undefined) fail('the stub supports only --show-mine with a displayName query');
  const mine = load().filter((a) => a.owner === 'me' && a.name === name);
  console.log(mine[0]?.appId ?? '');
} else if (cmd === 'ad app create') {
  if (process.env.STUB_CREATE_DENIED) fail('Insufficient privileges to complete the operation.');
  const apps = load();
  const appId = 'app-' + (apps.length + 1);
  apps.push({ name: opt('--display-name'), appId, owner: 'me', audience: opt('--sign-in-audience'), identifierUris: [], servicePrincipal: false });
  save(apps);
  console.log(appId);
} else if (cmd === 'ad app update') {
  const apps = load();
  const app = apps.find((a) => a.appId === opt('--id')) ?? fail('no such app');
  app.identifierUris = [opt('--identifier-uris')];
  const set = /^api\\.requestedAccessTokenVersion=(\\d+)$/.exec(opt('--set') ?? '');
  if (set) app.accessTokenVersion = Number(set[1]);
  save(apps);
} else if (cmd === 'ad sp show') {
  if (!load().find((a) => a.appId === opt('--id') && a.servicePrincipal)) fail('not found');
} else if (cmd === 'ad sp create') {
  const apps = load();
  (apps.find((a) => a.appId === opt('--id')) ?? fail('no such app')).servicePrincipal = true;
  save(apps);
} else fail('unexpected az ' + args.join(' '));
`;

const AZD_STUB = `#!/bin/sh
[ "$1 $2" = "env set" ] || { echo "unexpected azd $*" >&2; exit 1; }
echo "$3=$4" >> "$STUB_AZD_ENV"
`;

interface App {
  name: string;
  appId: string;
  owner: string;
  audience?: string;
  identifierUris: string[];
  accessTokenVersion?: number;
  servicePrincipal: boolean;
}

let dir: string;
let bin: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'preprovision-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, text] of [['az', AZ_STUB], ['azd', AZD_STUB]] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runHook(env: Record<string, string>, options: { withAz?: boolean } = {}) {
  const path = options.withAz === false ? `${join(dir, 'no-az')}:${pathWithoutAz()}` : `${bin}:${process.env.PATH ?? ''}`;
  if (options.withAz === false) {
    mkdirSync(join(dir, 'no-az'), { recursive: true });
    writeFileSync(join(dir, 'no-az', 'azd'), AZD_STUB);
    chmodSync(join(dir, 'no-az', 'azd'), 0o755);
  }
  const result = spawnSync('sh', [HOOK], {
    encoding: 'utf8',
    env: {
      PATH: path,
      STUB_STATE: join(dir, 'apps.json'),
      STUB_AZD_ENV: join(dir, 'azd.env'),
      STUB_CLI_TENANT: 'tenant-a',
      STUB_SUBSCRIPTION_TENANT: 'tenant-a',
      AZURE_ENV_NAME: 'env1',
      AZURE_SUBSCRIPTION_ID: 'sub-1',
      ...env,
    },
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

function pathWithoutAz(): string {
  return (process.env.PATH ?? '')
    .split(':')
    .filter((p) => !existsSync(join(p, 'az')))
    .join(':');
}

function apps(): App[] {
  const file = join(dir, 'apps.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as App[]) : [];
}

function azdEnv(): Record<string, string> {
  const file = join(dir, 'azd.env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('the preprovision hook, AUTH_MODE=appservice (the default)', () => {
  it('creates a single-tenant app registration for the environment, with api://<appId>, v2 tokens and a service principal', () => {
    const run = runHook({});
    expect(run.status, run.stderr).toBe(0);
    expect(apps()).toEqual([
      {
        name: 'phi-chat-api-env1',
        appId: 'app-1',
        owner: 'me',
        audience: 'AzureADMyOrg',
        identifierUris: ['api://app-1'],
        accessTokenVersion: 2,
        servicePrincipal: true,
      },
    ]);
    expect(azdEnv()).toEqual({ AUTH_CLIENT_ID: 'app-1' });
  });

  it('reuses the registration it created when the azd environment is recreated, instead of creating another', () => {
    expect(runHook({}).status).toBe(0);
    rmSync(join(dir, 'azd.env'));
    const again = runHook({});
    expect(again.status, again.stderr).toBe(0);
    expect(apps().map((a) => a.appId)).toEqual(['app-1']);
    expect(azdEnv()).toEqual({ AUTH_CLIENT_ID: 'app-1' });
  });

  it('never reuses a registration of the same name that someone else owns', () => {
    writeFileSync(
      join(dir, 'apps.json'),
      JSON.stringify([{ name: 'phi-chat-api-env1', appId: 'theirs', owner: 'someone-else', identifierUris: [], servicePrincipal: true }]),
    );
    const run = runHook({});
    expect(run.status, run.stderr).toBe(0);
    expect(azdEnv()).toEqual({ AUTH_CLIENT_ID: 'app-2' });
    expect(apps().find((a) => a.appId === 'theirs')?.identifierUris).toEqual([]);
  });

  it('leaves a given AUTH_CLIENT_ID alone and needs no Azure CLI for it', () => {
    const run = runHook({ AUTH_CLIENT_ID: 'given' }, { withAz: false });
    expect(run.status, run.stderr).toBe(0);
    expect(apps()).toEqual([]);
    expect(azdEnv()).toEqual({});
  });

  it('refuses, creating nothing, when the CLI is signed in to another tenant than the subscription\'s', () => {
    const run = runHook({ STUB_SUBSCRIPTION_TENANT: 'tenant-b' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("az login --tenant tenant-b");
    expect(apps()).toEqual([]);
    expect(azdEnv()).toEqual({});
  });

  it.each([
    ['the CLI is signed out', { STUB_SIGNED_OUT: '1' }, "run 'az login'"],
    ['the tenant does not let the user register applications', { STUB_CREATE_DENIED: '1' }, 'could not create the app registration'],
  ])('fails with the ways out when %s', (_, env, message) => {
    const run = runHook(env);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("azd env set AUTH_CLIENT_ID <appId>");
    expect(run.stderr).toContain('AUTH_MODE=jwt');
    expect(azdEnv()).toEqual({});
  });

  it('fails when AUTH_CLIENT_ID is unset and there is no Azure CLI to create the registration', () => {
    const run = runHook({}, { withAz: false });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the Azure CLI (az) is not installed');
  });
});

describe('the preprovision hook, other modes', () => {
  it('accepts AUTH_MODE=jwt with its three settings, without touching Entra ID', () => {
    const run = runHook({ AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer', JWT_AUDIENCE: 'api', JWT_JWKS_URI: 'https://issuer/keys' }, { withAz: false });
    expect(run.status, run.stderr).toBe(0);
    expect(apps()).toEqual([]);
  });

  it('refuses AUTH_MODE=jwt with a setting missing, naming it', () => {
    const run = runHook({ AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer', JWT_AUDIENCE: 'api' }, { withAz: false });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('AUTH_MODE=jwt needs JWT_JWKS_URI');
  });

  it('refuses any other mode (dev trusts a plain header)', () => {
    const run = runHook({ AUTH_MODE: 'dev' }, { withAz: false });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("AUTH_MODE must be appservice or jwt, not 'dev'");
  });
});
