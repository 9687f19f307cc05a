import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig: AUTH_MODE', () => {
  it('defaults to dev for a local run', () => {
    expect(loadConfig({}).auth.mode).toBe('dev');
    expect(loadConfig({}).deployed).toBe(false);
  });

  it.each([['WEBSITE_INSTANCE_ID'], ['WEBSITE_SITE_NAME']])('defaults to appservice when %s says the service is deployed', (variable) => {
    const config = loadConfig({ [variable]: 'x' });
    expect(config.deployed).toBe(true);
    expect(config.auth.mode).toBe('appservice');
  });

  it.each([['WEBSITE_INSTANCE_ID'], ['WEBSITE_SITE_NAME']])('refuses to start in dev mode when %s is set', (variable) => {
    expect(() => loadConfig({ AUTH_MODE: 'dev', [variable]: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_MODE: 'dev', [variable]: 'x' })).toThrow(/AUTH_MODE/);
  });

  it('ignores a deployment variable that is set but blank', () => {
    expect(loadConfig({ AUTH_MODE: 'dev', WEBSITE_INSTANCE_ID: ' ' }).auth.mode).toBe('dev');
  });

  it('refuses an unknown mode', () => {
    expect(() => loadConfig({ AUTH_MODE: 'none' })).toThrow(ConfigError);
  });

  it('needs issuer, audience and key set URL in jwt mode', () => {
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://issuer.example', JWT_AUDIENCE: 'api://chat', JWT_JWKS_URI: 'https://issuer.example/keys' };
    expect(loadConfig(jwt).auth).toEqual({ mode: 'jwt', jwtIssuer: jwt.JWT_ISSUER, jwtAudience: jwt.JWT_AUDIENCE, jwtJwksUri: jwt.JWT_JWKS_URI });
    for (const missing of ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URI'] as const) {
      expect(() => loadConfig({ ...jwt, [missing]: undefined })).toThrow(new RegExp(missing));
    }
    expect(() => loadConfig({ ...jwt, JWT_JWKS_URI: 'not a url' })).toThrow(/JWT_JWKS_URI/);
  });

  it('accepts jwt and appservice when deployed', () => {
    expect(loadConfig({ AUTH_MODE: 'appservice', WEBSITE_SITE_NAME: 'app' }).auth.mode).toBe('appservice');
    const jwt = { AUTH_MODE: 'jwt', JWT_ISSUER: 'https://i', JWT_AUDIENCE: 'a', JWT_JWKS_URI: 'https://i/keys', WEBSITE_SITE_NAME: 'app' };
    expect(loadConfig(jwt).auth.mode).toBe('jwt');
  });
});
