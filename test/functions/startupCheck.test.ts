import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadFunctionsApp } from '../../local/host/index.js';
import { runAppHooks } from '../../local/host/invokeHttpFunction.js';
import { hasServices } from '../../src/app.js';
import { ConfigError } from '../../src/config.js';

/**
 * The app's own start-up check, as a Functions host runs it (`func start`, a container, Azure): the `appStart` hook
 * with nothing installed beforehand, reading the process environment. This file never installs services, so the
 * hook checks here exactly as it would there.
 */

const registry = await loadFunctionsApp({ mainGlob: 'src/functions/*.ts' });
const start = () => runAppHooks(registry, 'appStart');

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('the appStart check under a Functions host', () => {
  it('refuses to start without AUTH_MODE outside Azure: one line naming it, no silent dev', async () => {
    expect(hasServices()).toBe(false);
    vi.stubEnv('AUTH_MODE', '');
    vi.stubEnv('WEBSITE_SITE_NAME', '');
    vi.stubEnv('WEBSITE_INSTANCE_ID', '');
    const error: unknown = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^AUTH_MODE="" is not valid: required outside Azure/);
  });

  it('starts with AUTH_MODE=dev chosen, as local.settings.sample.json does for func start', async () => {
    vi.stubEnv('AUTH_MODE', 'dev');
    vi.stubEnv('WEBSITE_SITE_NAME', '');
    vi.stubEnv('WEBSITE_INSTANCE_ID', '');
    await expect(start()).resolves.toBeUndefined();
  });

  it('starts in Azure without App Service authentication, warning that every caller will be refused', async () => {
    const warnings: string[] = [];
    vi.spyOn(console, 'warn').mockImplementation((line: unknown) => void warnings.push(String(line)));
    vi.stubEnv('WEBSITE_SITE_NAME', 'chat-app');
    vi.stubEnv('AUTH_MODE', '');
    vi.stubEnv('WEBSITE_AUTH_ENABLED', '');
    vi.stubEnv('PHI_ENDPOINT', 'https://phi.example.com');
    vi.stubEnv('COSMOS_ENDPOINT', 'https://db.documents.azure.com:443/');
    await expect(start()).resolves.toBeUndefined();
    expect(warnings.join('\n')).toMatch(/every caller will be refused: App Service authentication is off/);

    warnings.length = 0;
    vi.stubEnv('WEBSITE_AUTH_ENABLED', 'True');
    await expect(start()).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
  });
});
