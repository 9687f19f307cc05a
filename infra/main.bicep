// Deploys the chat backend for `azd up` (or `az deployment sub create`): a Flex Consumption Function App, Cosmos DB
// serverless, Application Insights, and either a Phi-4-mini-instruct deployment on a Microsoft Foundry resource (the
// default, called through the OpenAI v1 API by managed identity) or an existing Phi endpoint of either wire (OpenAI
// v1 or the Azure AI model inference API) whose key, if any, is kept in Key Vault.
//
// It never deploys an app that trusts caller headers nobody vouches for: with authMode appservice (the default) App
// Service authentication is always on and needs authClientId (azd's preprovision hook, infra/hooks/preprovision.sh,
// creates or reuses that app registration); with jwt the three JWT settings are required. A deployment without them
// fails before it creates anything (see `tags` below).
//
// The modules are local files under infra/modules/, written in the style of the Azure Verified Modules and the azd
// Flex Consumption samples rather than referenced from the public registry (br/public:avm/...): the machines that
// build and lint this template in CI cannot reach the registry, and local modules keep `bicep build` offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to name the resource group and derive a short unique suffix.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption and, when deployPhi is true, the model deployment.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID); used only when grantDeployerDataAccess is true.')
param principalId string = ''

@description('Give the deploying user data access (every user\'s chats in Cosmos DB, the model, the deployment blobs) for local runs against this deployment. Off by default: the app identity is the only principal with data access.')
param grantDeployerDataAccess bool = false

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

// ---- The model -------------------------------------------------------------------------------------------------

@description('Create a Microsoft Foundry resource with a Phi deployment reached by managed identity. Ignored when phiEndpoint is set.')
param deployPhi bool = true

@description('Foundry catalog model to deploy when deployPhi is true (format Microsoft).')
param phiFoundryModelName string = 'Phi-4-mini-instruct'

@description('Model version to deploy (1 is Phi-4-mini-instruct\'s); empty for the service default.')
param phiFoundryModelVersion string = '1'

@description('Deployment capacity (sku.capacity of the GlobalStandard deployment).')
@minValue(1)
param phiFoundryCapacity int = 1

@description('URL of an existing Phi endpoint: an OpenAI v1 base URL (…/openai/v1, …/v1) or an Azure AI model inference endpoint (managed compute). When set, nothing is deployed for the model.')
param phiEndpoint string = ''

@allowed(['', 'openai', 'inference'])
@description('Wire protocol of the existing endpoint (PHI_API). Empty: the app infers it (openai when the path ends in /v1). A Foundry deployment always uses openai.')
param phiApi string = ''

@secure()
@description('Key of the existing endpoint; stored in Key Vault and handed to the app as a Key Vault reference. Empty: the app uses its managed identity.')
param phiApiKey string = ''

@description('Catalog id of the model (PHI_MODEL), e.g. phi-4-mini-instruct, phi-4. It must match the deployed model.')
param phiModel string = 'phi-4-mini-instruct'

@description('Deployment name sent as `model` (PHI_DEPLOYMENT); required by the openai wire. Empty: the Foundry model name when deployPhi, unset otherwise.')
param phiDeployment string = ''

@description('Entra ID token scope for the model endpoint (PHI_TOKEN_SCOPE). Empty: https://ai.azure.com/.default for a Foundry deployment, the app default otherwise.')
param phiTokenScope string = ''

// ---- The app ---------------------------------------------------------------------------------------------------

@description('Cosmos DB database name (COSMOS_DATABASE).')
param cosmosDatabaseName string = 'chat'

@allowed(['appservice', 'jwt'])
@description('How the app learns the caller (AUTH_MODE). appservice: App Service authentication with the authClientId registration, always on. jwt: the app validates bearer tokens (jwtIssuer, jwtAudience, jwtJwksUri required).')
param authMode string = 'appservice'

@description('Client id of the Entra ID app registration App Service authentication accepts tokens for; required with authMode appservice (the azd preprovision hook sets it).')
param authClientId string = ''

@description('Comma-separated client ids of the applications (e.g. your SPA) allowed to call the API through App Service authentication, besides the registration itself; empty for none.')
param authAllowedClientApps string = ''

@description('JWT_ISSUER, for authMode jwt.')
param jwtIssuer string = ''

@description('JWT_AUDIENCE, for authMode jwt.')
param jwtAudience string = ''

@description('JWT_JWKS_URI, for authMode jwt.')
param jwtJwksUri string = ''

@description('USER_DAILY_TOKEN_LIMIT: tokens per caller per UTC day, as digits; empty for no limit.')
param userDailyTokenLimit string = ''

@minValue(1)
@description('USER_MAX_CONCURRENT_TURNS: turns (and regenerations) one caller may have in flight at once.')
param userMaxConcurrentTurns int = 4

@allowed(['true', 'false'])
@description('AUTO_TITLE: name untitled conversations from their first message with a short model call.')
param autoTitle string = 'true'

@description('Comma-separated browser origins allowed by the platform CORS, e.g. https://app.example.com; empty for none.')
param corsAllowedOrigins string = ''

@allowed(['20', '22'])
@description('Node.js version of the Functions runtime.')
param nodeVersion string = '22'

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// ---- Checks and names ------------------------------------------------------------------------------------------

var useExistingEndpoint = !empty(phiEndpoint)
var deployModel = deployPhi && !useExistingEndpoint
var storeKey = useExistingEndpoint && !empty(phiApiKey)
var existingEndpointIsOpenAi = phiApi == 'openai' || (empty(phiApi) && (endsWith(phiEndpoint, '/v1') || endsWith(phiEndpoint, '/v1/')))

// What makes this deployment unsafe or unable to start; empty when nothing does.
var deploymentProblem = authMode == 'appservice' && empty(authClientId)
  ? 'authMode appservice needs authClientId: App Service authentication must vouch for the caller headers the app trusts. Run `azd up` (its preprovision hook creates the app registration), set AUTH_CLIENT_ID, or choose AUTH_MODE=jwt with JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URI.'
  : authMode == 'jwt' && (empty(jwtIssuer) || empty(jwtAudience) || empty(jwtJwksUri))
      ? 'authMode jwt needs jwtIssuer, jwtAudience and jwtJwksUri (JWT_ISSUER, JWT_AUDIENCE, JWT_JWKS_URI).'
      : useExistingEndpoint && existingEndpointIsOpenAi && empty(phiDeployment)
          ? 'An OpenAI v1 endpoint (phiApi openai, or an endpoint ending in /v1) needs phiDeployment (PHI_DEPLOYMENT), the name sent as `model`.'
          : ''

// The tags go on the resource group, the first resource of the deployment, so ARM evaluates this before anything is
// created: a deployment with a problem fails with its message and leaves nothing behind.
var tags = empty(deploymentProblem) ? { 'azd-env-name': environmentName } : fail(deploymentProblem)

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var deploymentContainerName = 'app-package'
var deployerPrincipalId = grantDeployerDataAccess ? principalId : ''
// The OpenAI v1 API on Foundry accepts this scope (Microsoft's migration guide moves clients to it from
// https://cognitiveservices.azure.com/.default); the app's own default for the openai wire is the same.
var foundryTokenScope = 'https://ai.azure.com/.default'
var foundryDeploymentName = empty(phiDeployment) ? phiFoundryModelName : phiDeployment

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: deployerPrincipalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: deployerPrincipalId
  }
}

module phi 'modules/phi.bicep' = if (deployModel) {
  name: 'phi'
  scope: rg
  params: {
    name: 'ai-${resourceToken}'
    location: location
    tags: tags
    deploymentName: foundryDeploymentName
    modelName: phiFoundryModelName
    modelVersion: phiFoundryModelVersion
    capacity: phiFoundryCapacity
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: deployerPrincipalId
  }
}

module keyVault 'modules/keyVault.bicep' = if (storeKey) {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    phiApiKey: phiApiKey
    appPrincipalId: identity.outputs.principalId
  }
}

// Every setting src/config.ts reads that applies in Azure (test/infra/template.test.ts keeps this list honest).
// An empty value counts as unset for the app, so optional settings stay in the list with '' rather than vanish.
var phiSettings = {
  PHI_ENDPOINT: deployModel ? phi!.outputs.openAiEndpoint : phiEndpoint
  PHI_API: deployModel ? 'openai' : phiApi
  // A Key Vault reference, resolved by the platform with the app identity: the key itself is never an app setting.
  // A Foundry deployment has no key at all (local auth is disabled on the account).
  PHI_API_KEY: storeKey ? '@Microsoft.KeyVault(SecretUri=${keyVault!.outputs.phiApiKeySecretUri})' : ''
  PHI_MODEL: phiModel
  PHI_DEPLOYMENT: deployModel ? phi!.outputs.deploymentName : phiDeployment
  PHI_TOKEN_SCOPE: !empty(phiTokenScope) ? phiTokenScope : (deployModel ? foundryTokenScope : '')
}

var appSettings = union(phiSettings, {
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmos.outputs.databaseName
  AUTH_MODE: authMode
  JWT_ISSUER: jwtIssuer
  JWT_AUDIENCE: jwtAudience
  JWT_JWKS_URI: jwtJwksUri
  USER_DAILY_TOKEN_LIMIT: userDailyTokenLimit
  USER_MAX_CONCURRENT_TURNS: string(userMaxConcurrentTurns)
  AUTO_TITLE: autoTitle
})

module api 'modules/functionApp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: 'func-api-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: appSettings
    corsAllowedOrigins: filter(map(split(corsAllowedOrigins, ','), origin => trim(origin)), origin => !empty(origin))
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    authMode: authMode
    authClientId: authClientId
    authAllowedApplications: filter(map(split(authAllowedClientApps, ','), app => trim(app)), app => !empty(app))
  }
}

// Outputs land in azd's environment (.azure/<env>/.env). None is named like a parameter's variable in
// main.parameters.json, so a second `azd up` never feeds a deployed value back in as if the user had chosen it.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output API_URL string = '${api.outputs.uri}/api'
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_COSMOS_DATABASE string = cosmos.outputs.databaseName
output AZURE_PHI_ENDPOINT string = deployModel ? phi!.outputs.openAiEndpoint : phiEndpoint
output AZURE_PHI_DEPLOYMENT string = deployModel ? phi!.outputs.deploymentName : phiDeployment
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
