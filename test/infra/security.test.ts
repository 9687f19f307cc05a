import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compileTemplate,
  evaluateInModule,
  evaluateMain,
  moduleNamed,
  resourceOfType,
  resourcesOfType,
  ROOT,
  type ArmTemplate,
} from './compiledTemplate.js';
import { ArmFailure } from './evaluateArm.js';

/**
 * What infra/main.bicep deploys for a given set of inputs, evaluated from the compiled template: a default `azd up`
 * never yields an app that trusts caller headers without App Service authentication (issue 13, item 1), and every
 * principal gets the least access it needs (issue 13, item 7).
 */

let arm: ArmTemplate;

beforeAll(() => {
  arm = compileTemplate();
}, 300_000);

/** What the deployment's first resource (the resource group) evaluates to: its tags, or the refusal. */
function outcome(values: Record<string, unknown>): { ok: true } | { refused: string } {
  const rg = resourceOfType(arm, 'Microsoft.Resources/resourceGroups');
  try {
    expect(evaluateMain(arm, rg.tags, values)).toEqual({ 'azd-env-name': 'env' });
    return { ok: true };
  } catch (error) {
    if (error instanceof ArmFailure) return { refused: error.message };
    throw error;
  }
}

function easyAuth(): ReturnType<typeof resourceOfType> {
  const inner = moduleNamed(arm, 'api').properties.template;
  const found = inner.resources.find((r) => r.type === 'Microsoft.Web/sites/config' && String(r.name).includes("'authsettingsV2'"));
  if (!found) throw new Error('no authsettingsV2 resource');
  return found;
}

describe('a default azd up never deploys an app that trusts forgeable caller headers', () => {
  it('refuses appservice mode without an app registration, which is what the defaults alone give', () => {
    expect(arm.parameters.authMode?.defaultValue).toBe('appservice');
    expect(arm.parameters.authClientId?.defaultValue).toBe('');
    const result = outcome({});
    expect(result).toEqual({ refused: expect.stringContaining('authMode appservice needs authClientId') });
  });

  it('checks on the resource group, the first resource, so a refused deployment creates nothing', () => {
    const rg = resourceOfType(arm, 'Microsoft.Resources/resourceGroups');
    expect(rg.tags).toBe("[variables('tags')]");
    const rgId = `[subscriptionResourceId('Microsoft.Resources/resourceGroups', ${String(rg.name).slice(1, -1)})]`;
    const modules = arm.resources.filter((r) => r.type === 'Microsoft.Resources/deployments') as { name: string; dependsOn?: string[] }[];
    expect(modules.map((m) => m.name)).toEqual(['identity', 'monitoring', 'storage', 'cosmos', 'phi', 'keyVault', 'api']);
    for (const module of modules) expect(module.dependsOn, module.name).toContain(rgId);
  });

  it('deploys appservice mode once a registration is given, and jwt only with its three settings', () => {
    expect(outcome({ authClientId: '11111111-2222-3333-4444-555555555555' })).toEqual({ ok: true });
    expect(outcome({ authMode: 'jwt' })).toEqual({ refused: expect.stringContaining('authMode jwt needs jwtIssuer, jwtAudience and jwtJwksUri') });
    expect(outcome({ authMode: 'jwt', jwtIssuer: 'https://issuer', jwtAudience: 'api' })).toEqual({ refused: expect.stringContaining('jwt') });
    expect(outcome({ authMode: 'jwt', jwtIssuer: 'https://issuer', jwtAudience: 'api', jwtJwksUri: 'https://issuer/keys' })).toEqual({ ok: true });
  });

  it('refuses an existing OpenAI v1 endpoint without the deployment name its wire requires', () => {
    const base = { authClientId: 'app' };
    expect(outcome({ ...base, phiEndpoint: 'http://10.0.0.4:11434/v1' })).toEqual({ refused: expect.stringContaining('phiDeployment') });
    expect(outcome({ ...base, phiEndpoint: 'https://x.example/models', phiApi: 'openai' })).toEqual({ refused: expect.stringContaining('phiDeployment') });
    expect(outcome({ ...base, phiEndpoint: 'http://10.0.0.4:11434/v1', phiDeployment: 'phi4-mini' })).toEqual({ ok: true });
    expect(outcome({ ...base, phiEndpoint: 'https://ep.eastus2.inference.ml.azure.com' })).toEqual({ ok: true });
  });

  it('turns App Service authentication on whenever the mode is appservice, never depending on a value that may be empty', () => {
    const api = moduleNamed(arm, 'api');
    expect(api.properties.parameters?.authMode?.value).toBe("[parameters('authMode')]");
    const auth = easyAuth();
    expect(auth.condition).toBe("[equals(parameters('authMode'), 'appservice')]");
    expect(evaluateInModule(arm, api, auth.condition, { authClientId: 'app' })).toBe(true);
    expect(evaluateInModule(arm, api, auth.condition, { authMode: 'jwt' })).toBe(false);
    // Resource Manager may evaluate the properties of a resource it skips: in jwt mode they must not fail.
    const jwt = { authMode: 'jwt', jwtIssuer: 'https://issuer', jwtAudience: 'api', jwtJwksUri: 'https://issuer/keys' };
    expect(evaluateInModule(arm, api, auth.properties, jwt)).toMatchObject({ globalValidation: { requireAuthentication: true } });
  });

  it('refuses in one place only, main.bicep\'s first resource: no module carries a fail() that a skipped resource could trip', () => {
    const modules = arm.resources.filter((r) => r.type === 'Microsoft.Resources/deployments');
    expect(modules.length).toBeGreaterThan(0);
    for (const module of modules) expect(JSON.stringify(module.properties?.template), module.name).not.toContain('fail(');
    expect(JSON.stringify(arm.variables)).toContain('fail(');
  });

  it('requires a token on every request but the health probe (401 otherwise) from the registration or the listed client applications only', () => {
    const api = moduleNamed(arm, 'api');
    const settings = evaluateInModule(arm, api, easyAuth().properties, { authClientId: 'api-app', authAllowedClientApps: ' spa-app, ,cli-app ' });
    expect(settings).toMatchObject({
      platform: { enabled: true },
      globalValidation: { requireAuthentication: true, unauthenticatedClientAction: 'Return401', excludedPaths: ['/api/health'] },
      identityProviders: {
        azureActiveDirectory: {
          enabled: true,
          registration: { clientId: 'api-app', openIdIssuer: 'https://login.microsoftonline.com/<tenant>/v2.0' },
          validation: {
            allowedAudiences: ['api-app', 'api://api-app'],
            defaultAuthorizationPolicy: { allowedApplications: ['api-app', 'spa-app', 'cli-app'] },
          },
        },
      },
      login: { tokenStore: { enabled: false } },
    });
    const onlyItself = evaluateInModule(arm, api, easyAuth().properties, { authClientId: 'api-app' }) as {
      identityProviders: { azureActiveDirectory: { validation: { defaultAuthorizationPolicy: { allowedApplications: string[] } } } };
    };
    expect(onlyItself.identityProviders.azureActiveDirectory.validation.defaultAuthorizationPolicy.allowedApplications).toEqual(['api-app']);
  });

  it('runs the preprovision hook that creates or reuses the app registration before azd provisions', () => {
    const azureYaml = readFileSync(join(ROOT, 'azure.yaml'), 'utf8');
    expect(azureYaml).toMatch(/\nhooks:\n(?:\s+#.*\n)*\s+preprovision:\n\s+shell: sh\n\s+run: infra\/hooks\/preprovision\.sh\n/);
    expect(() => accessSync(join(ROOT, 'infra', 'hooks', 'preprovision.sh'), constants.X_OK)).not.toThrow();
  });
});

describe('least privilege', () => {
  it('grants the Cosmos DB data role on the database, not the account', () => {
    const cosmos = moduleNamed(arm, 'cosmos');
    const inner = cosmos.properties.template;
    expect(inner.variables?.databaseScope).toBe(
      "[format('{0}/dbs/{1}', resourceId('Microsoft.DocumentDB/databaseAccounts', parameters('accountName')), parameters('databaseName'))]",
    );
    const grants = resourcesOfType(inner, 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments');
    expect(grants).toHaveLength(2);
    for (const grant of grants) {
      expect(grant.properties?.scope).toBe("[variables('databaseScope')]");
      expect(String(grant.name)).toContain("guid(variables('databaseScope')");
    }
    expect(evaluateInModule(arm, cosmos, "[parameters('databaseName')]")).toBe('chat');
  });

  it('gives the deploying user no data access by default, and all of it only when asked', () => {
    expect(arm.parameters.grantDeployerDataAccess).toMatchObject({ type: 'bool', defaultValue: false });
    for (const name of ['cosmos', 'storage', 'phi']) {
      const module = moduleNamed(arm, name);
      const passed = module.properties.parameters?.userPrincipalId?.value;
      expect(evaluateMain(arm, passed, { principalId: 'user-1' }), name).toBe('');
      expect(evaluateMain(arm, passed, { principalId: 'user-1', grantDeployerDataAccess: true }), name).toBe('user-1');
      // Each module grants the user nothing when it gets no principal.
      const userGrants = module.properties.template.resources.filter((r) => JSON.stringify(r.properties ?? {}).includes("parameters('userPrincipalId')"));
      expect(userGrants.length, name).toBeGreaterThan(0);
      for (const grant of userGrants) expect(grant.condition, name).toBe("[not(empty(parameters('userPrincipalId')))]");
    }
  });

  it('turns publishing with user name and password off, for FTP and the SCM site', () => {
    const inner = moduleNamed(arm, 'api').properties.template;
    const policies = resourcesOfType(inner, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => [p.name, p.properties, p.condition])).toEqual([
      ["[format('{0}/{1}', parameters('name'), 'ftp')]", { allow: false }, undefined],
      ["[format('{0}/{1}', parameters('name'), 'scm')]", { allow: false }, undefined],
    ]);
  });

  it('protects the Key Vault holding an endpoint key from purge, RBAC only', () => {
    const vault = resourceOfType(moduleNamed(arm, 'keyVault').properties.template, 'Microsoft.KeyVault/vaults');
    expect(vault.properties).toMatchObject({ enablePurgeProtection: true, enableSoftDelete: true, enableRbacAuthorization: true });
  });

  it('turns local auth off on Log Analytics and Application Insights; the app reports as its identity', () => {
    const monitoring = moduleNamed(arm, 'monitoring').properties.template;
    expect(resourceOfType(monitoring, 'Microsoft.OperationalInsights/workspaces').properties).toMatchObject({ features: { disableLocalAuth: true } });
    expect(resourceOfType(monitoring, 'Microsoft.Insights/components').properties).toMatchObject({ DisableLocalAuth: true });
    const publisher = resourceOfType(monitoring, 'Microsoft.Authorization/roleAssignments');
    expect(publisher.scope).toBe("[resourceId('Microsoft.Insights/components', parameters('applicationInsightsName'))]");
    expect(JSON.stringify(publisher.properties)).toContain("variables('monitoringMetricsPublisherRoleId')");
    expect(monitoring.variables?.monitoringMetricsPublisherRoleId).toBe('3913510d-42f4-4e42-8a64-420c390055eb');
    const api = moduleNamed(arm, 'api');
    const appSettings = api.properties.template.resources.find((r) => String(r.name).includes("'appsettings'"));
    expect(String(appSettings?.properties)).toContain("'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', format('Authorization=AAD;ClientId={0}', parameters('identityClientId'))");
  });
});
