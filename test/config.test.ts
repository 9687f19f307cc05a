import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { STAND_IN_PORTS } from '../local/standIns.js';
import { ConfigError, loadConfig } from '../src/config.js';

/** What a deployment always sets: the app refuses to fall back to the embedded store or simulator in Azure. */
const AZURE = { PHI_ENDPOINT: 'https://phi.example.com', COSMOS_ENDPOINT: 'https://db.documents.azure.com:443/' };
/** What `npm start` passes: the local host listens on loopback only. */
const LOOPBACK = { loopbackHost: true } as const;
/** A local run with the mode chosen, for tests about other settings. */
const local = (env: Record<string, string | undefined>) => loadConfig({ AUTH_MODE: 'dev', ...env });

describe('loadConfig: AUTH_MODE', () => {
  it('defaults to dev only for npm start, whose local host listens on loopback', () => {
    expect(loadConfig({}, LOOPBACK).auth.mode).toBe('dev');
    expect(loadConfig({}, LOOPBACK).deployed).toBe(false);
  });

  it('refuses to guess anywhere else outside Azure (func start, a container): one line naming AUTH_MODE', () => {
    let error: unknown;
    try {
      loadConfig({});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^AUTH_MODE="" is not valid: required outside Azure: appservice, jwt or dev/);
    expect((error as Error).message).not.toContain('\n');
    // The other settings are checked first, so a test (or a person) fixing one thing at a time sees them too.
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^PORT=/);
    expect(loadConfig({ AUTH_MODE: 'dev' }).auth.mode).toBe('dev');
  });

  it('never defaults to dev in Azure, even for a loopback host', () => {
    expect(loadConfig({ ...AZURE, WEBSITE_SITE_NAME: 'app' }, LOOPBACK).auth.mode).toBe('appservice');
  });

  it.each([
    [{}, true],
    [{ WEBSITE_AUTH_ENABLED: 'False' }, true],
    [{ WEBSITE_AUTH_ENABLED: '' }, true],
    [{ WEBSITE_AUTH_ENABLED: '1' }, true],
    [{ WEBSITE_AUTH_ENABLED: 'True' }, false],
    [{ WEBSITE_AUTH_ENABLED: 'true' }, false],
    [{ WEBSITE_AUTH_ENABLED: ' TRUE ' }, false],
  ])('in Azure, appservice with %j: App Service authentication off = %s', (extra, off) => {
    expect(loadConfig({ ...AZURE, WEBSITE_SITE_NAME: 'app', ...extra }).auth.appServiceAuthOff).toBe(off);
    expect(loadConfig({ ...AZURE, WEBSITE_INSTANCE_ID: 'i', AUTH_MODE: 'appservice', ...extra }).auth.appServiceAuthOff).toBe(off);
  });

  it('believes the principal headers outside Azure only when AUTH_TRUST_PRINCIPAL_HEADERS says a platform strips them', () => {
    expect(loadConfig({ AUTH_MODE: 'appservice' }).auth.appServiceAuthOff).toBe(true);
    expect(loadConfig({ AUTH_MODE: 'appservice', AUTH_TRUST_PRINCIPAL_HEADERS: 'false' }).auth.appServiceAuthOff).toBe(true);
    expect(loadConfig({ AUTH_MODE: 'appservice', AUTH_TRUST_PRINCIPAL_HEADERS: 'true' }).auth.appServiceAuthOff).toBe(false);
    expect(loadConfig({ AUTH_MODE: 'appservice', AUTH_TRUST_PRINCIPAL_HEADERS: 'TRUE' }).auth.appServiceAuthOff).toBe(false);
    expect(loadConfig({ AUTH_MODE: 'appservice', WEBSITE_AUTH_ENABLED: 'True' }).auth.appServiceAuthOff).toBe(false);
    expect(loadConfig({ ...AZURE, WEBSITE_SITE_NAME: 'app', AUTH_TRUST_PRINCIPAL_HEADERS: 'true' }).auth.appServiceAuthOff).toBe(false);
    expect(() => loadConfig({ AUTH_MODE: 'appservice', AUTH_TRUST_PRINCIPAL_HEADERS: 'yes' })).toThrow(/^AUTH_TRUST_PRINCIPAL_HEADERS="yes" is not valid: true or false$/);
  });

  it('looks at the principal header settings only for appservice', () => {
    expect(loadConfig({ AUTH_MODE: 'dev' }).auth.appServiceAuthOff).toBe(false);
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a', JWT_JWKS_URI: 'https://i/keys', WEBSITE_SITE_NAME: 'app', ...AZURE };
    expect(loadConfig(jwt).auth.appServiceAuthOff).toBe(false);
  });

  it.each([['WEBSITE_INSTANCE_ID'], ['WEBSITE_SITE_NAME']])('defaults to appservice when %s says the service is deployed', (variable) => {
    const config = loadConfig({ ...AZURE, [variable]: 'x' });
    expect(config.deployed).toBe(true);
    expect(config.auth.mode).toBe('appservice');
  });

  it.each([['WEBSITE_INSTANCE_ID'], ['WEBSITE_SITE_NAME']])('refuses to start in dev mode when %s is set', (variable) => {
    expect(() => loadConfig({ ...AZURE, AUTH_MODE: 'dev', [variable]: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...AZURE, AUTH_MODE: 'dev', [variable]: 'x' })).toThrow(/AUTH_MODE/);
  });

  it('ignores a deployment variable that is set but blank', () => {
    expect(loadConfig({ AUTH_MODE: 'dev', WEBSITE_INSTANCE_ID: ' ' }).auth.mode).toBe('dev');
  });

  it('refuses an unknown mode', () => {
    expect(() => loadConfig({ AUTH_MODE: 'none' })).toThrow(ConfigError);
  });

  it('needs issuer, audience and key set URL in jwt mode', () => {
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'api://chat', JWT_JWKS_URI: 'https://issuer.example/keys' };
    expect(loadConfig(jwt).auth).toEqual({
      mode: 'jwt', jwtIssuer: jwt.JWT_ISSUER, jwtAudience: jwt.JWT_AUDIENCE, jwtJwksUri: jwt.JWT_JWKS_URI, appServiceAuthOff: false,
    });
    for (const missing of ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URI'] as const) {
      expect(() => loadConfig({ ...jwt, [missing]: undefined })).toThrow(new RegExp(missing));
    }
    expect(() => loadConfig({ ...jwt, JWT_JWKS_URI: 'not a url' })).toThrow(/JWT_JWKS_URI/);
  });

  it('wants the key set over https: plain http only on loopback', () => {
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'api://chat' };
    for (const uri of ['http://issuer.example/keys', 'http://10.0.0.5/keys', 'http://127.evil.example/keys', 'http://localhost.evil.example/keys']) {
      expect(() => loadConfig({ ...jwt, JWT_JWKS_URI: uri }), uri).toThrow(/^JWT_JWKS_URI=.*an https URL/);
    }
    for (const uri of ['https://issuer.example/keys', 'http://127.0.0.1:4000/keys', 'http://localhost:4000/keys', 'http://[::1]:4000/keys']) {
      expect(loadConfig({ ...jwt, JWT_JWKS_URI: uri }).auth.jwtJwksUri, uri).toBe(uri);
    }
  });

  it('accepts jwt and appservice when deployed', () => {
    expect(loadConfig({ ...AZURE, AUTH_MODE: 'appservice', WEBSITE_SITE_NAME: 'app' }).auth.mode).toBe('appservice');
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a', JWT_JWKS_URI: 'https://i/keys', WEBSITE_SITE_NAME: 'app', ...AZURE };
    expect(loadConfig(jwt).auth.mode).toBe('jwt');
  });
});

describe('loadConfig: endpoints and values', () => {
  it('needs PHI_ENDPOINT and COSMOS_ENDPOINT when deployed, naming the missing one', () => {
    expect(() => loadConfig({ WEBSITE_SITE_NAME: 'app', COSMOS_ENDPOINT: AZURE.COSMOS_ENDPOINT })).toThrow(/^PHI_ENDPOINT=.*required when running in Azure/);
    expect(() => loadConfig({ WEBSITE_SITE_NAME: 'app', PHI_ENDPOINT: AZURE.PHI_ENDPOINT })).toThrow(/^COSMOS_ENDPOINT=.*required when running in Azure/);
  });

  it('wants the model endpoint over https, on both wires: plain http only on loopback, since every call carries a credential', () => {
    for (const endpoint of ['http://phi.example.com/openai/v1', 'http://10.0.0.5/models', 'http://127.evil.example/v1', 'http://localhost.evil.example/v1']) {
      for (const PHI_API of ['openai', 'inference']) {
        expect(() => local({ PHI_ENDPOINT: endpoint, PHI_API, PHI_DEPLOYMENT: 'd' }), endpoint).toThrow(/^PHI_ENDPOINT=.*an https URL \(plain http only for localhost/);
      }
    }
    for (const endpoint of ['https://phi.example.com/openai/v1', 'http://127.0.0.1:11434/v1', 'http://127.1.2.3:8080/v1', 'http://localhost:11434/v1', 'http://[::1]:8080/models']) {
      expect(local({ PHI_ENDPOINT: endpoint, PHI_DEPLOYMENT: 'd' }).phi.endpoint, endpoint).toBe(endpoint);
    }
  });

  it('allows timeouts up to 300 s, no more', () => {
    expect(local({ PHI_FIRST_BYTE_TIMEOUT_MS: '300000', PHI_IDLE_TIMEOUT_MS: '300000', TURN_LOCK_SECONDS: '1000' }).phi).toMatchObject({ firstByteTimeoutMs: 300_000, idleTimeoutMs: 300_000 });
  });

  it('uses the embedded parts locally and the documented defaults', () => {
    const config = local({});
    expect(config.phi.endpoint).toBeUndefined();
    expect(config.cosmos).toEqual({ endpoint: undefined, key: undefined, database: 'chat' });
    expect(config.phi.model.id).toBe('phi-4-mini-instruct');
    expect(config.port).toBe(7071);
    expect(config.limits.userDailyTokenLimit).toBeUndefined();
    expect(config.limits.maxBodyBytes).toBe(1_048_576);
    expect(config.limits.userMaxConcurrentTurns).toBe(4);
  });

  it.each([
    ['PORT', 'abc', /^PORT="abc" is not valid: a whole number from 1 to 65535$/],
    ['PORT', '70000', /^PORT=/],
    ['PHI_MODEL', 'gpt-4', /^PHI_MODEL="gpt-4" is not valid: one of phi-3.5-mini-instruct, /],
    ['PHI_ENDPOINT', 'not a url', /^PHI_ENDPOINT="not a url" is not valid: an absolute http\(s\) URL$/],
    ['COSMOS_ENDPOINT', 'ftp://x', /^COSMOS_ENDPOINT=/],
    ['USER_DAILY_TOKEN_LIMIT', '-5', /^USER_DAILY_TOKEN_LIMIT=/],
    ['USER_DAILY_TOKEN_LIMIT', '1.5', /^USER_DAILY_TOKEN_LIMIT=/],
    ['CORS_ALLOWED_ORIGINS', 'https://ok.example,not an origin', /^CORS_ALLOWED_ORIGINS="not an origin"/],
    ['USER_MAX_CONCURRENT_TURNS', '0', /^USER_MAX_CONCURRENT_TURNS="0" is not valid: a whole number from 1 /],
    ['USER_MAX_CONCURRENT_TURNS', '64', /^USER_MAX_CONCURRENT_TURNS="64" is not valid: below PHI_MAX_CONCURRENCY \(64\), so one caller can never hold every upstream slot$/],
    ['PHI_MAX_CONCURRENCY', '1', /^PHI_MAX_CONCURRENCY="1" is not valid: a whole number from 2 /],
    ['PHI_FIRST_BYTE_TIMEOUT_MS', '300001', /^PHI_FIRST_BYTE_TIMEOUT_MS="300001" is not valid: a whole number from 100 to 300000$/],
    ['PHI_IDLE_TIMEOUT_MS', '600000', /^PHI_IDLE_TIMEOUT_MS="600000" is not valid: a whole number from 100 to 300000$/],
    ['TURN_LOCK_SECONDS', '5', /^TURN_LOCK_SECONDS="5" is not valid: at least 201 with these timeouts \(PHI_RETRY_BUDGET_MS \+ 2 × PHI_FIRST_BYTE_TIMEOUT_MS \+ PHI_IDLE_TIMEOUT_MS \+ 1 s\)/],
  ])('refuses %s=%s with one line naming it and what is allowed', (name, value, message) => {
    let error: unknown;
    try {
      local({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('keeps the cap on one caller\'s turns below the upstream slots, and a lock that outlasts the waits the timeouts allow', () => {
    // Fewer slots than the default cap: the default follows them down.
    expect(local({ PHI_MAX_CONCURRENCY: '3' }).limits.userMaxConcurrentTurns).toBe(2);
    expect(local({ PHI_MAX_CONCURRENCY: '201', USER_MAX_CONCURRENT_TURNS: '200' }).limits.userMaxConcurrentTurns).toBe(200);
    expect(() => local({ PHI_MAX_CONCURRENCY: '8', USER_MAX_CONCURRENT_TURNS: '9' })).toThrow(/^USER_MAX_CONCURRENT_TURNS="9"/);
    // 5 s is enough once the timeouts are short: 300 + 2 × 500 + 1000 + 1000 ms (the stop margin).
    const short = { PHI_RETRY_BUDGET_MS: '300', PHI_FIRST_BYTE_TIMEOUT_MS: '500', PHI_IDLE_TIMEOUT_MS: '1000' };
    expect(local({ ...short, TURN_LOCK_SECONDS: '5' }).limits.turnLockSeconds).toBe(5);
    expect(() => local({ ...short, PHI_IDLE_TIMEOUT_MS: '2800', TURN_LOCK_SECONDS: '5' })).toThrow(/^TURN_LOCK_SECONDS="5" is not valid: at least 6 /);
  });

  it('accepts a model id in any case and trims endpoint slashes', () => {
    const config = local({ PHI_MODEL: 'Phi-3-Mini-4K-Instruct', PHI_ENDPOINT: 'https://x.example/models/' });
    expect(config.phi.model.contextWindow).toBe(4096);
    expect(config.phi.endpoint).toBe('https://x.example/models');
  });
});

describe('loadConfig: PHI_API', () => {
  it.each([
    [undefined, 'openai'],
    ['https://res.openai.azure.com/openai/v1', 'openai'],
    ['https://res.services.ai.azure.com/openai/v1/', 'openai'],
    ['http://127.0.0.1:11434/v1', 'openai'],
    ['https://res.services.ai.azure.com/models', 'inference'],
    ['https://phi.eastus2.inference.ml.azure.com', 'inference'],
    ['https://x.example/v1beta', 'inference'],
  ])('defaults from the endpoint path: %s speaks %s', (endpoint, api) => {
    const env = endpoint === undefined ? {} : { PHI_ENDPOINT: endpoint, PHI_DEPLOYMENT: 'Phi-4-mini-instruct' };
    expect(local(env).phi.api).toBe(api);
  });

  it('takes PHI_API over the path, in any case, and refuses anything else in one line', () => {
    expect(local({ PHI_ENDPOINT: 'https://x.example/v1', PHI_API: 'Inference' }).phi.api).toBe('inference');
    expect(local({ PHI_ENDPOINT: 'https://x.example/models', PHI_API: 'openai', PHI_DEPLOYMENT: 'd' }).phi.api).toBe('openai');
    expect(local({ PHI_API: 'inference' }).phi.api).toBe('inference');
    expect(() => local({ PHI_API: 'azure' })).toThrow(/^PHI_API="azure" is not valid: openai or inference$/);
  });

  it('needs PHI_DEPLOYMENT with an openai endpoint (one line), not with the simulator or the inference API', () => {
    let error: unknown;
    try {
      local({ PHI_ENDPOINT: 'https://res.openai.azure.com/openai/v1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^PHI_DEPLOYMENT="" is not valid: required when PHI_API=openai/);
    expect((error as Error).message).not.toContain('\n');
    expect(() => local({ PHI_ENDPOINT: 'https://x.example/models', PHI_API: 'openai' })).toThrow(/^PHI_DEPLOYMENT=/);
    expect(local({ PHI_API: 'openai' }).phi.deployment).toBeUndefined();
    expect(local({ PHI_ENDPOINT: 'https://x.example/models' }).phi.deployment).toBeUndefined();
  });

  it('passes PHI_TOKEN_SCOPE through; unset, each adapter keeps its own default', () => {
    expect(local({}).phi.tokenScope).toBeUndefined();
    expect(local({ PHI_TOKEN_SCOPE: 'https://cognitiveservices.azure.com/.default' }).phi.tokenScope).toBe('https://cognitiveservices.azure.com/.default');
  });
});

describe('local.settings.sample.json (for func start)', () => {
  const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as { Values: Record<string, string> };
  const read = new Set([...readFileSync('src/config.ts', 'utf8').matchAll(/(?:text|integer|url|flag)\(env, '([A-Z_]+)'/g)].map((m) => m[1]!));

  it('lists every setting the app reads (but the local port and the platform variables)', () => {
    const missing = [...read].filter((name) => !(name in sample.Values) && name !== 'PORT' && !name.startsWith('WEBSITE_'));
    expect(read.size).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('is a working local configuration as it stands: it points at `npm run stand-ins`', () => {
    const config = loadConfig(sample.Values);
    expect(config.auth.mode).toBe('dev');
    expect(config.phi.endpoint).toBe(`http://127.0.0.1:${STAND_IN_PORTS.simulator}/openai/v1`);
    expect(config.phi.api).toBe('openai');
    expect(config.cosmos.endpoint).toBe(`https://127.0.0.1:${STAND_IN_PORTS.cosmos}`);
  });
});
