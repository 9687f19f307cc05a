import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_CATALOG } from '../../src/chat/modelCatalog.js';
import { loadConfig } from '../../src/config.js';
import { CHAT_CONTAINER } from '../../src/store/cosmosSchema.js';
import { objectKeys, parseArmExpression } from './armExpression.js';
import { compileTemplate, evaluateInModule, evaluateMain, moduleNamed, resourceOfType, ROOT, type ArmTemplate } from './compiledTemplate.js';

/**
 * Cross-checks infra/main.bicep, compiled by the real Bicep CLI (scripts/check-infra.sh, which also lints), against
 * the code: the Cosmos DB container, the settings src/config.ts reads, what the model settings are for a Foundry
 * deployment and for an existing endpoint of either wire, and azd's parameter file.
 */

/**
 * Settings src/config.ts reads that the template deliberately does not set, each with the reason. A setting added
 * to config.ts fails the test until it is either set in infra/main.bicep or listed here.
 */
const OPTIONAL_SETTINGS: Readonly<Record<string, string>> = {
  COSMOS_KEY: 'keys are disabled on the account: the app uses its managed identity',
  CORS_ALLOWED_ORIGINS: 'for the local host only; in Azure the platform CORS (parameter corsAllowedOrigins) answers',
  PORT: 'the local host port; the Functions host ignores it',
  WEBSITE_INSTANCE_ID: 'set by the platform',
  WEBSITE_SITE_NAME: 'set by the platform',
  WEBSITE_AUTH_ENABLED: 'set by the platform when App Service authentication is on',
  AUTH_TRUST_PRINCIPAL_HEADERS: 'for platforms other than App Service (Container Apps, Static Web Apps); the template turns App Service authentication on instead',
  PHI_FIRST_BYTE_TIMEOUT_MS: 'tuning knob with a default (docs/deploy.md)',
  PHI_IDLE_TIMEOUT_MS: 'tuning knob with a default (docs/deploy.md)',
  PHI_MAX_CONCURRENCY: 'tuning knob with a default (docs/deploy.md)',
  PHI_RETRY_BUDGET_MS: 'tuning knob with a default (docs/deploy.md)',
  MAX_BODY_BYTES: 'tuning knob with a default (docs/deploy.md)',
  MAX_CONTENT_CHARS: 'tuning knob with a default (docs/deploy.md)',
  TURN_LOCK_SECONDS: 'tuning knob with a default (docs/deploy.md)',
  SSE_PING_INTERVAL_MS: 'tuning knob with a default (docs/deploy.md)',
  STREAM_CHECKPOINT_MS: 'tuning knob with a default (docs/deploy.md)',
};

/** App settings of the platform (Functions host, telemetry, identity), not read by src/config.ts. */
const PLATFORM_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
];

/**
 * Settings the template sets ahead of the app (issues 13 and 14 add them to src/config.ts in other branches). Once
 * src/config.ts reads one, the test asks to drop it from here.
 */
const SETTINGS_AHEAD_OF_THE_APP: string[] = [];

/** Models the template may deploy before the catalog knows them; the test asks to drop an id once it does. */
const MODELS_AHEAD_OF_THE_CATALOG: string[] = [];

let arm: ArmTemplate;

beforeAll(() => {
  arm = compileTemplate();
}, 300_000);

/** Setting names src/config.ts reads: text/integer/url(env, 'NAME', …) calls and env['NAME'] / env.NAME reads. */
function settingsReadByConfig(): Set<string> {
  const source = readFileSync(join(ROOT, 'src', 'config.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of source.matchAll(/\b(?:text|integer|url|flag)\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) names.add(m[1] as string);
  for (const m of source.matchAll(/\benv(?:\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]|\.([A-Z][A-Z0-9_]*)\b)/g)) names.add((m[1] ?? m[2]) as string);
  for (const m of source.matchAll(/\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*,/g)) names.add(m[1] as string);
  return names;
}

function appSettingNames(): string[] {
  const api = moduleNamed(arm, 'api');
  const passed = api.properties.parameters?.appSettings?.value;
  if (typeof passed !== 'string') throw new Error('appSettings is not an expression');
  return objectKeys(parseArmExpression(passed));
}

function platformSettingNames(): string[] {
  const inner = moduleNamed(arm, 'api').properties.template as ArmTemplate;
  const config = inner.resources.find((r) => r.type === 'Microsoft.Web/sites/config' && String(r.name).includes("'appsettings'"));
  const value = config?.properties as unknown;
  if (typeof value !== 'string') throw new Error('the appsettings config resource has no properties expression');
  return objectKeys(parseArmExpression(value), (name) => (name === 'appSettings' ? ['<appSettings>'] : []));
}

describe('the Cosmos DB container in infra/ is the one the code uses', () => {
  function container(): Record<string, unknown> {
    const inner = moduleNamed(arm, 'cosmos').properties.template as ArmTemplate;
    const resource = resourceOfType(inner, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers');
    return (resource.properties as { resource: Record<string, unknown> }).resource;
  }

  it('has the same id, partition key and TTL', () => {
    const c = container();
    expect(c.id).toBe(CHAT_CONTAINER.id);
    expect(c.partitionKey).toEqual({ paths: [CHAT_CONTAINER.partitionKeyPath], kind: 'Hash', version: 2 });
    expect(c.defaultTtl).toBe(CHAT_CONTAINER.defaultTtl);
  });

  it('has the same indexing policy, composite indexes included', () => {
    expect(container().indexingPolicy).toEqual(CHAT_CONTAINER.indexingPolicy);
  });

  it('is the only container, in a serverless, key-less account whose database defaults to the app default', () => {
    const inner = moduleNamed(arm, 'cosmos').properties.template as ArmTemplate;
    expect(inner.resources.filter((r) => r.type.endsWith('/containers'))).toHaveLength(1);
    const account = resourceOfType(inner, 'Microsoft.DocumentDB/databaseAccounts').properties as Record<string, unknown>;
    expect(account.capabilities).toEqual([{ name: 'EnableServerless' }]);
    expect(account.disableLocalAuth).toBe(true);
    expect(arm.parameters.cosmosDatabaseName?.defaultValue).toBe(loadConfig({ AUTH_MODE: 'dev' }).cosmos.database);
  });

  it('grants the built-in Data Contributor role to the app and, when given, the deploying user', () => {
    const inner = moduleNamed(arm, 'cosmos').properties.template as ArmTemplate;
    const grants = inner.resources.filter((r) => r.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments');
    expect(grants.map((g) => JSON.stringify(g.properties))).toEqual([
      expect.stringContaining("parameters('appPrincipalId')"),
      expect.stringContaining("parameters('userPrincipalId')"),
    ]);
    for (const g of grants) expect(JSON.stringify(g.properties)).toContain("variables('dataContributorRoleId')");
    expect(inner.variables).toMatchObject({ dataContributorRoleId: '00000000-0000-0000-0000-000000000002' });
  });
});

describe('the Function App settings cover what src/config.ts reads', () => {
  it('finds the settings config.ts reads (the scan itself works)', () => {
    const read = settingsReadByConfig();
    for (const name of ['PHI_ENDPOINT', 'COSMOS_DATABASE', 'AUTH_MODE', 'JWT_ISSUER', 'WEBSITE_SITE_NAME', 'PORT']) {
      expect(read).toContain(name);
    }
  });

  it('sets every setting config.ts reads, or lists it as deliberately optional', () => {
    const set = new Set(appSettingNames());
    const missing = [...settingsReadByConfig()].filter((name) => !set.has(name) && !(name in OPTIONAL_SETTINGS));
    expect(missing, 'set these in infra/main.bicep (appSettings) or add them to OPTIONAL_SETTINGS with a reason').toEqual([]);
  });

  it('keeps the optional list honest: each entry is still read by config.ts and not set by the template', () => {
    const read = settingsReadByConfig();
    const set = new Set(appSettingNames());
    expect(Object.keys(OPTIONAL_SETTINGS).filter((name) => !read.has(name) || set.has(name))).toEqual([]);
  });

  it('sets nothing the app does not read, apart from settings listed as ahead of the app', () => {
    const read = settingsReadByConfig();
    expect(appSettingNames().filter((name) => !read.has(name) && !SETTINGS_AHEAD_OF_THE_APP.includes(name))).toEqual([]);
    expect(SETTINGS_AHEAD_OF_THE_APP.filter((name) => read.has(name)), 'config.ts reads these now: drop them from SETTINGS_AHEAD_OF_THE_APP').toEqual([]);
  });

  it('adds the platform settings for identity-based storage, telemetry and DefaultAzureCredential', () => {
    expect(platformSettingNames()).toEqual(['<appSettings>', ...PLATFORM_SETTINGS]);
  });

  it('defaults AUTH_MODE to appservice and hands the model key over only as a Key Vault reference', () => {
    expect(arm.parameters.authMode?.defaultValue).toBe('appservice');
    const passed = String(moduleNamed(arm, 'api').properties.parameters?.appSettings?.value);
    const key = /'PHI_API_KEY', (if\(.*?\)), 'PHI_MODEL'/.exec(passed)?.[1] ?? '';
    expect(key).toContain('@Microsoft.KeyVault(SecretUri=');
    expect(key).not.toContain("parameters('phiApiKey')");
    expect(JSON.stringify(arm.outputs)).not.toContain('phiApiKey');
    expect(arm.parameters.phiApiKey?.type).toBe('securestring');
  });

  it('deploys a model the catalog knows, or one listed as ahead of the catalog', () => {
    const model = String(arm.parameters.phiModel?.defaultValue);
    expect(MODEL_CATALOG.has(model) || MODELS_AHEAD_OF_THE_CATALOG.includes(model)).toBe(true);
    expect(MODELS_AHEAD_OF_THE_CATALOG.filter((id) => MODEL_CATALOG.has(id)), 'the catalog knows these now: drop them from MODELS_AHEAD_OF_THE_CATALOG').toEqual([]);
  });
});

describe('the model: a Foundry Phi-4-mini-instruct deployment by default, or an existing endpoint of either wire', () => {
  const PHI_KEYS = ['PHI_ENDPOINT', 'PHI_API', 'PHI_API_KEY', 'PHI_MODEL', 'PHI_DEPLOYMENT', 'PHI_TOKEN_SCOPE'];

  function settingsFor(values: Record<string, unknown> = {}): Record<string, unknown> {
    const all = evaluateMain(arm, moduleNamed(arm, 'api').properties.parameters?.appSettings?.value, values) as Record<string, unknown>;
    return { ...Object.fromEntries(PHI_KEYS.map((key) => [key, all[key]])), USER_MAX_CONCURRENT_TURNS: all.USER_MAX_CONCURRENT_TURNS };
  }

  function modulesDeployed(values: Record<string, unknown> = {}): string[] {
    return arm.resources
      .filter((r) => r.type === 'Microsoft.Resources/deployments' && (r.condition === undefined || evaluateMain(arm, r.condition, values) === true))
      .map((r) => r.name);
  }

  it('points the app at the deployment\'s OpenAI v1 endpoint with PHI_API=openai, the ai.azure.com scope and no key', () => {
    expect(settingsFor()).toEqual({
      PHI_ENDPOINT: '<phi.openAiEndpoint>',
      PHI_API: 'openai',
      PHI_API_KEY: '',
      PHI_MODEL: 'phi-4-mini-instruct',
      PHI_DEPLOYMENT: '<phi.deploymentName>',
      PHI_TOKEN_SCOPE: 'https://ai.azure.com/.default',
      USER_MAX_CONCURRENT_TURNS: '4',
    });
    expect(modulesDeployed()).toContain('phi');
    expect(modulesDeployed()).not.toContain('keyVault');
    const phi = moduleNamed(arm, 'phi');
    expect(phi.properties.template.outputs.openAiEndpoint?.value).toMatch(
      /^\[format\('https:\/\/\{0\}\.openai\.azure\.com\/openai\/v1', reference\(resourceId\('Microsoft\.CognitiveServices\/accounts', parameters\('name'\)\), '[-0-9]+'\)\.customSubDomainName\)\]$/,
    );
  });

  it('deploys Phi-4-mini-instruct, format Microsoft, version 1, GlobalStandard, on a key-less AIServices account', () => {
    const phi = moduleNamed(arm, 'phi');
    const inner = phi.properties.template;
    const account = resourceOfType(inner, 'Microsoft.CognitiveServices/accounts');
    expect(account.kind).toBe('AIServices');
    expect(account.properties).toMatchObject({ disableLocalAuth: true, customSubDomainName: "[parameters('name')]" });
    const deployment = resourceOfType(inner, 'Microsoft.CognitiveServices/accounts/deployments');
    expect(evaluateInModule(arm, phi, deployment.sku)).toEqual({ name: 'GlobalStandard', capacity: 1 });
    expect(evaluateInModule(arm, phi, deployment.properties)).toEqual({ model: { format: 'Microsoft', name: 'Phi-4-mini-instruct', version: '1' } });
    expect(deployment.name).toBe("[format('{0}/{1}', parameters('name'), parameters('deploymentName'))]");
    expect(evaluateInModule(arm, phi, "[parameters('deploymentName')]")).toBe('Phi-4-mini-instruct');
    expect(evaluateInModule(arm, phi, "[parameters('deploymentName')]", { phiDeployment: 'chat' })).toBe('chat');
  });

  it('grants the app identity "Cognitive Services User" on the Foundry account itself, nothing broader', () => {
    const phi = moduleNamed(arm, 'phi');
    const grants = phi.properties.template.resources.filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    const app = grants.find((g) => JSON.stringify(g.properties).includes("parameters('appPrincipalId')"));
    expect(app?.scope).toBe("[resourceId('Microsoft.CognitiveServices/accounts', parameters('name'))]");
    expect(evaluateInModule(arm, phi, app?.properties, {})).toMatchObject({
      roleDefinitionId: 'Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908',
      principalType: 'ServicePrincipal',
    });
    expect(grants.map((g) => g.scope)).toEqual([app?.scope, app?.scope]);
  });

  it('emits no key for the Foundry path: no listKeys anywhere, no key output, keys disabled', () => {
    const text = JSON.stringify(arm);
    expect(text).not.toMatch(/listKeys|listkeys/);
    const outputs = JSON.stringify(moduleNamed(arm, 'phi').properties.template.outputs);
    expect(outputs).not.toMatch(/key/i);
  });

  it.each([
    {
      wire: 'the OpenAI v1 wire, the key as a Key Vault reference',
      values: { phiEndpoint: 'https://res.services.ai.azure.com/openai/v1', phiApi: 'openai', phiApiKey: 'k', phiDeployment: 'phi-4-mini' },
      settings: ['openai', '@Microsoft.KeyVault(SecretUri=<keyVault.phiApiKeySecretUri>)', 'phi-4-mini-instruct', 'phi-4-mini', ''],
      keyVault: true,
    },
    {
      wire: 'the Azure AI model inference wire, by identity when no key is given',
      values: { phiEndpoint: 'https://ep.eastus2.inference.ml.azure.com', phiApi: 'inference', phiModel: 'phi-4', phiTokenScope: 'https://ml.azure.com/.default' },
      settings: ['inference', '', 'phi-4', '', 'https://ml.azure.com/.default'],
      keyVault: false,
    },
  ])('keeps the existing-endpoint path for $wire', ({ values, settings, keyVault }) => {
    const [api, key, model, deployment, scope] = settings;
    expect(settingsFor(values)).toEqual({
      PHI_ENDPOINT: values.phiEndpoint,
      PHI_API: api,
      PHI_API_KEY: key,
      PHI_MODEL: model,
      PHI_DEPLOYMENT: deployment,
      PHI_TOKEN_SCOPE: scope,
      USER_MAX_CONCURRENT_TURNS: '4',
    });
    expect(modulesDeployed(values).includes('keyVault')).toBe(keyVault);
    expect(modulesDeployed(values)).not.toContain('phi');
  });

  it('passes USER_MAX_CONCURRENT_TURNS through from its parameter', () => {
    expect(settingsFor({ userMaxConcurrentTurns: 2 }).USER_MAX_CONCURRENT_TURNS).toBe('2');
    expect(arm.parameters.userMaxConcurrentTurns).toMatchObject({ type: 'int', defaultValue: 4 });
  });
});

describe("azd's parameter file matches the template", () => {
  const file = JSON.parse(readFileSync(join(ROOT, 'infra', 'main.parameters.json'), 'utf8')) as {
    parameters: Record<string, { value: string }>;
  };

  it('names only parameters the template has, and every parameter without a default', () => {
    const declared = Object.keys(arm.parameters);
    expect(Object.keys(file.parameters).filter((name) => !declared.includes(name))).toEqual([]);
    const required = declared.filter((name) => arm.parameters[name]?.defaultValue === undefined && name !== 'phiApiKey');
    expect(required.filter((name) => !(name in file.parameters))).toEqual([]);
  });

  it('gives each ${VAR=default} the same default as the template', () => {
    for (const [name, { value }] of Object.entries(file.parameters)) {
      const fallback = /^\$\{[A-Z0-9_]+=(.*)\}$/.exec(value)?.[1];
      if (fallback !== undefined) expect(`${name}=${fallback}`).toBe(`${name}=${String(arm.parameters[name]?.defaultValue)}`);
    }
  });

  it('has no output named like a variable it reads, so a second azd up cannot feed deployed values back in', () => {
    const variables = Object.values(file.parameters).map(({ value }) => /^\$\{([A-Z0-9_]+)/.exec(value)?.[1]);
    // azd's own convention: AZURE_LOCATION is output as the very location it was given.
    const echoes = ['AZURE_LOCATION'];
    expect(Object.keys(arm.outputs).filter((name) => variables.includes(name) && !echoes.includes(name))).toEqual([]);
  });
});
